#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/progress.h"
#include "harness/run_dir.h"
#include "tests/support/test_util.h"

namespace fs = std::filesystem;

namespace {
fs::path fresh(const std::string& name) {
  const fs::path p = caig::testing::process_temp_dir() / name;
  fs::remove_all(p);
  fs::remove_all(p.string() + ".failed");
  return p;
}
}  // namespace

TEST(RunDir, OpensAnEmptyOrRunDirectoryUnderALock) {
  const auto dir = fresh("run");
  {
    caig::RunDir d(dir);
    EXPECT_TRUE(caig::is_run_dir(dir));
    d.write_json("metrics.json", {{"a", 1}});
    EXPECT_EQ(d.stage_dir("world"), dir / "stages" / "world");
    // A second writer while the first holds it is refused.
    try {
      caig::RunDir other(dir);
      FAIL() << "two writers";
    } catch (const caig::Error& e) {
      EXPECT_NE(std::string(e.what()).find("in use by another caig process"), std::string::npos)
          << e.what();
    }
  }
  caig::RunDir again(dir);  // released: reopened to resume
  EXPECT_EQ(caig::read_json(dir / "metrics.json")["a"], 1);
}

TEST(RunDir, RefusesADirectoryThatIsNotARun) {
  const auto dir = fresh("not_a_run");
  fs::create_directories(dir);
  caig::write_file_atomic(dir / "thesis.tex", "mine");
  try {
    caig::RunDir d(dir);
    FAIL() << "wrote into a directory that is not a run";
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a run directory"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "run.json"));
  const auto empty = fresh("empty");
  fs::create_directories(empty);
  EXPECT_NO_THROW(caig::RunDir{empty});
}

TEST(Files, AtomicWriteLeavesNoTemporaries) {
  const auto dir = fresh("files");
  caig::write_file_atomic(dir / "a.txt", "hello");
  caig::write_file_atomic(dir / "a.txt", "again");
  EXPECT_EQ(caig::read_file(dir / "a.txt"), "again");
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  EXPECT_EQ(n, 1);
}

TEST(Files, JsonlReportsFileAndLine) {
  const auto dir = fresh("jsonl");
  caig::write_file_atomic(dir / "x.jsonl", "{\"a\": 1}\n\n{broken\n");
  try {
    caig::read_jsonl(dir / "x.jsonl", [](const nlohmann::json&, int64_t) {});
    FAIL();
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.jsonl:3"), std::string::npos) << e.what();
  }
  int bad = 0, good = 0;
  caig::read_jsonl(
      dir / "x.jsonl", [&](const nlohmann::json&, int64_t) { ++good; },
      [&](int64_t line, const std::string&) { bad += static_cast<int>(line); });
  EXPECT_EQ(good, 1);
  EXPECT_EQ(bad, 3);
}

TEST(Files, ResolveInsideRejectsEscapes) {
  const auto dir = fresh("inside");
  fs::create_directories(dir / "images");
  EXPECT_EQ(caig::resolve_inside(dir, "images/a.png", "m:1"),
            fs::weakly_canonical(dir / "images/a.png"));
  EXPECT_THROW(caig::resolve_inside(dir, "../a.png", "m:1"), caig::Error);
  EXPECT_THROW(caig::resolve_inside(dir, "images/../../a.png", "m:1"), caig::Error);
  EXPECT_THROW(caig::resolve_inside(dir, "/etc/passwd", "m:1"), caig::Error);
  fs::create_directory_symlink("/tmp", dir / "link");
  EXPECT_THROW(caig::resolve_inside(dir, "link/x.png", "m:1"), caig::Error);
}

TEST(Progress, PlainLinesAtMostOnePerTenth) {
  std::ostringstream out;
  {
    caig::Progress p("loop", 1000, out, caig::ProgressMode::Lines);
    for (int i = 0; i < 1000; ++i) p.tick();
  }
  const std::string s = out.str();
  const auto lines = std::count(s.begin(), s.end(), '\n');
  EXPECT_EQ(lines, 10);  // nine tenths and the final line
  EXPECT_EQ(s.find('\r'), std::string::npos);
  EXPECT_NE(s.find("loop: 1000/1000 (100%)"), std::string::npos);
}

TEST(Progress, OpenEndedLoopShowsACountOnly) {
  std::ostringstream out;
  {
    caig::Progress p("training", 0, out, caig::ProgressMode::Lines);
    for (int i = 0; i < 250; ++i) p.tick();
  }
  EXPECT_EQ(out.str().rfind("training: 250 ", 0), 0u) << out.str();
  EXPECT_EQ(out.str().find('%'), std::string::npos) << out.str();
}

TEST(Progress, QuietPrintsNothingAndTerminalRedraws) {
  std::ostringstream quiet, tty;
  {
    caig::Progress p("q", 10, quiet, caig::ProgressMode::Quiet);
    p.tick(10);
  }
  EXPECT_TRUE(quiet.str().empty());
  {
    caig::Progress p("t", 10, tty, caig::ProgressMode::Terminal);
    p.tick(10);
  }
  EXPECT_NE(tty.str().find('\r'), std::string::npos);
}
