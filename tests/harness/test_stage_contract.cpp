// The pieces of the stage contract that need no stage: content hashes of files and trees (what
// stage.json records), the StageContext's declared inputs and outputs, and interrupts.
#include <filesystem>

#include <gtest/gtest.h>

#include "harness/content_hash.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/interrupt.h"
#include "harness/stage.h"
#include "tests/support/test_util.h"

namespace fs = std::filesystem;

namespace {
fs::path fresh(const std::string& name) {
  const fs::path p = caig::testing::process_temp_dir() / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}
}  // namespace

TEST(ContentHash, FilesHashAsTheirBytesAndDiffer) {
  const auto dir = fresh("hash_files");
  caig::write_file_atomic(dir / "a", "hello");
  caig::write_file_atomic(dir / "b", "hellp");
  const std::string big(3 << 20, 'x');  // more than one read buffer
  caig::write_file_atomic(dir / "big", big);
  EXPECT_EQ(caig::hash_file(dir / "a"), caig::hash_bytes("hello"));
  EXPECT_EQ(caig::hash_file(dir / "big"), caig::hash_bytes(big));
  EXPECT_NE(caig::hash_bytes("hello"), caig::hash_bytes("hellp"));
  EXPECT_NE(caig::hash_bytes(""), caig::hash_bytes(std::string(1, '\0')));
  EXPECT_EQ(caig::hash_bytes("hello").size(), 32u);
  EXPECT_THROW(caig::hash_file(dir / "missing"), caig::Error);
}

TEST(ContentHash, TreeDifferencesNameMissingChangedAndUnexpectedFiles) {
  const auto dir = fresh("hash_tree");
  caig::write_file_atomic(dir / "stage.json", "{}");
  caig::write_file_atomic(dir / "ck/model.pt", "weights");
  caig::write_file_atomic(dir / "ck/tokenizer.json", "{}");
  caig::write_file_atomic(dir / "metrics.json", "{}");
  const auto tree = caig::hash_tree(dir, {"stage.json"});
  ASSERT_EQ(tree.size(), 3u);
  EXPECT_FALSE(tree.contains("stage.json"));
  EXPECT_EQ(tree["ck/model.pt"]["size"], 7);
  EXPECT_EQ(tree["ck/model.pt"]["hash"], caig::hash_bytes("weights"));
  EXPECT_TRUE(caig::tree_differences(tree, dir, {"stage.json"}).empty());
  caig::write_file_atomic(dir / "stage.json", "{\"changed\": true}");  // skipped
  EXPECT_TRUE(caig::tree_differences(tree, dir, {"stage.json"}).empty());

  fs::resize_file(dir / "ck/model.pt", 3);  // truncated
  fs::remove(dir / "metrics.json");
  caig::write_file_atomic(dir / "stray.txt", "x");
  const auto diffs = caig::tree_differences(tree, dir, {"stage.json"});
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0], "changed ck/model.pt (3 bytes, recorded 7)");
  EXPECT_EQ(diffs[1], "missing metrics.json");
  EXPECT_EQ(diffs[2], "unexpected stray.txt");
  // Same size, other bytes.
  caig::write_file_atomic(dir / "ck/model.pt", "weighs!");
  EXPECT_EQ(caig::tree_differences(tree, dir, {"stage.json"})[0],
            "changed ck/model.pt (7 bytes, recorded 7)");
  EXPECT_TRUE(caig::hash_tree(dir / "nothing_here").empty());
}

TEST(StageContext, InputsAndOutputsMustBeDeclared) {
  const nlohmann::json experiment = {{"world", {{"rho", 0.85}}}}, config = nlohmann::json::object();
  caig::StageContext ctx("pretrain", experiment, config, 7, "cpu", "/run/stages/pretrain", false,
                         {{"world/data", "/run/stages/world/data"}}, {"checkpoint"});
  EXPECT_EQ(ctx.input("world", "data"), fs::path("/run/stages/world/data"));
  EXPECT_TRUE(ctx.has_input("world", "data"));
  EXPECT_FALSE(ctx.has_input("pretrain", "data"));
  EXPECT_EQ(ctx.output("checkpoint"), fs::path("/run/stages/pretrain/checkpoint"));
  try {
    ctx.input("reward_accuracy", "models");
    FAIL();
  } catch (const caig::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "stage 'pretrain' reads 'models' of stage 'reward_accuracy' without declaring it in "
              "reads()");
  }
  EXPECT_THROW(ctx.output("data"), caig::Error);
  ctx.spend("", {{"steps", 1}});
  ctx.spend("commercial/vam", {{"steps", 2}});
  EXPECT_EQ(ctx.budget()["pretrain"]["steps"], 1);
  EXPECT_EQ(ctx.budget()["pretrain/commercial/vam"]["steps"], 2);
}

TEST(Interrupt, AFlagRaisedOnceStopsTheNextStepBoundary) {
  caig::request_interrupt(false);
  EXPECT_FALSE(caig::interrupt_requested());
  EXPECT_NO_THROW(caig::throw_if_interrupted("pretrain"));
  caig::request_interrupt(true);
  try {
    caig::throw_if_interrupted("pretrain");
    FAIL();
  } catch (const caig::Interrupted& e) {
    EXPECT_EQ(std::string(e.what()), "interrupted by SIGINT during pretrain");
  }
  caig::request_interrupt(false);
}
