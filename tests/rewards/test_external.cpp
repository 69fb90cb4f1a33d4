// Researchers' own reward models: the `external` JSON-lines process and the `torchscript` file.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "../support/test_util.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "reward_fixture.h"
#include "rewards/ad_set.h"
#include "rewards/register.h"

using namespace caig;
namespace fs = std::filesystem;

namespace {

Plugins& plugins_under_test() {
  static Plugins p = [] {
    Plugins q;
    rewards::register_plugins(q);
    return q;
  }();
  return p;
}

std::string python() {
  for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3"})
    if (fs::exists(p)) return p;
  return "";
}

const rewards::EvalSet& eval_set() {
  static rewards::EvalSet e =
      rewards::make_eval_set(caig::testing::tiny_world_on_disk(), "test", 32);
  return e;
}

std::unique_ptr<RewardModel> external(const std::vector<std::string>& command, double timeout = 20,
                                      bool has_ctr = false) {
  PluginContext ctx{nullptr, 1};
  return plugins_under_test().reward_models.create(
      "external", {{"command", command}, {"timeout_seconds", timeout}, {"has_ctr", has_ctr}}, ctx);
}

std::string script(const std::string& name, const std::string& body) {
  return caig::testing::write_temp_file(name, body).string();
}

const std::string kExample =
    std::string(CAIG_SOURCE_DIR) + "/examples/external_rm/example_scorer.py";

}  // namespace

TEST(ExternalRewardModel, ExampleScorerAnswersEveryPair) {
  if (python().empty()) GTEST_SKIP() << "python3 is not installed";
  auto m = external({python(), kExample}, 20, true);
  const auto& e = eval_set();
  const auto p = m->prob_left(e.ads, e.pairs);
  ASSERT_EQ(p.size(), e.pairs.size());
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_TRUE(p[i] >= 0 && p[i] <= 1);
    // The example prefers the larger PNG file.
    const auto l = fs::file_size(e.ads.ads[static_cast<size_t>(e.pairs[i].left)].image_path);
    const auto r = fs::file_size(e.ads.ads[static_cast<size_t>(e.pairs[i].right)].image_path);
    if (l != r) {
      EXPECT_EQ(p[i] > 0.5, l > r);
    }
  }
  ASSERT_TRUE(m->has_ctr());
  EXPECT_EQ(static_cast<int64_t>(m->ctr(e.ads).size()), e.ads.size());
}

TEST(ExternalRewardModel, CrashIsAnErrorNamingTheRequest) {
  if (python().empty()) GTEST_SKIP() << "python3 is not installed";
  auto m = external({python(), std::string(CAIG_SOURCE_DIR) + "/tests/harness/data/crash.py"});
  const auto msg = caig::testing::error_of([&] { m->prob_left(eval_set().ads, eval_set().pairs); });
  EXPECT_NE(msg.find("status 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model exploded"), std::string::npos) << msg;
  EXPECT_NE(msg.find("id"), std::string::npos) << msg;
}

TEST(ExternalRewardModel, TimeoutIsAnError) {
  if (python().empty()) GTEST_SKIP() << "python3 is not installed";
  auto m = external({python(), std::string(CAIG_SOURCE_DIR) + "/tests/harness/data/hang.py"}, 0.5);
  const auto msg =
      caig::testing::error_of([&] { m->prob_left(eval_set().ads, {eval_set().pairs[0]}); });
  EXPECT_NE(msg.find("within 0.5 s"), std::string::npos) << msg;
}

TEST(ExternalRewardModel, MalformedOrMissingAnswersAreErrorsNeverAHalf) {
  if (python().empty()) GTEST_SKIP() << "python3 is not installed";
  const auto& e = eval_set();
  const std::string reader = "import json, sys\nfor line in sys.stdin:\n    r = json.loads(line)\n";
  // No p_left in the answer.
  auto a =
      external({python(), script("no_p.py",
                                 reader + "    print(json.dumps({'id': r['id']}), flush=True)\n")});
  auto msg = caig::testing::error_of([&] { a->prob_left(e.ads, {e.pairs[0]}); });
  EXPECT_NE(msg.find("p_left"), std::string::npos) << msg;
  EXPECT_NE(msg.find("request 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find(e.ads.ads[static_cast<size_t>(e.pairs[0].left)].image_path.string()),
            std::string::npos)
      << msg;
  // p_left out of range.
  auto b = external(
      {python(),
       script("big_p.py",
              reader + "    print(json.dumps({'id': r['id'], 'p_left': 1.5}), flush=True)\n")});
  msg = caig::testing::error_of([&] { b->prob_left(e.ads, {e.pairs[0]}); });
  EXPECT_NE(msg.find("1.5"), std::string::npos) << msg;
  // A non-JSON line.
  auto c =
      external({python(), script("junk.py", reader + "    print('0.5', 'maybe', flush=True)\n")});
  EXPECT_THROW(c->prob_left(e.ads, {e.pairs[0]}), Error);
  // has_ctr without ctr_left.
  auto d = external(
      {python(),
       script("no_ctr.py",
              reader + "    print(json.dumps({'id': r['id'], 'p_left': 0.5}), flush=True)\n")},
      20, true);
  msg = caig::testing::error_of([&] { d->ctr(e.ads); });
  EXPECT_NE(msg.find("ctr_left"), std::string::npos) << msg;
}

TEST(ExternalRewardModel, CommandIsRequiredAndStartedWithoutAShell) {
  EXPECT_NE(caig::testing::error_of([] { external({}); }).find("command"), std::string::npos);
  // A shell would run this; without one it is a program name that does not exist.
  auto m = external({"echo hi; true"});
  const auto msg =
      caig::testing::error_of([&] { m->prob_left(eval_set().ads, {eval_set().pairs[0]}); });
  EXPECT_NE(msg.find("echo hi; true"), std::string::npos) << msg;
}

namespace {

fs::path save_module(const std::string& name, const std::string& source) {
  torch::jit::Module m("RewardModel");
  m.define(source);
  const auto path = caig::testing::process_temp_dir() / (name + ".pt");
  m.save(path.string());
  return path;
}

std::unique_ptr<RewardModel> torchscript(const fs::path& path) {
  PluginContext ctx{nullptr, 1};
  return plugins_under_test().reward_models.create("torchscript", {{"path", path.string()}}, ctx);
}

}  // namespace

TEST(TorchScriptRewardModel, ProbabilitiesLogitsAndCtr) {
  const auto& e = eval_set();
  // Brighter left image wins: P = sigmoid(10 * (mean(left) - mean(right))).
  const auto probs = save_module("probs", R"(
def forward(self, left, right):
    return torch.sigmoid(10.0 * (left.mean([1, 2, 3]) - right.mean([1, 2, 3])))
def ctr(self, images):
    return images.mean([1, 2, 3]) * 0.05
)");
  auto m = torchscript(probs);
  const auto p = m->prob_left(e.ads, e.pairs);
  ASSERT_EQ(p.size(), e.pairs.size());
  const auto x = rewards::float_images(e.ads.images, {e.pairs[0].left, e.pairs[0].right}, "cpu");
  const double expected =
      1.0 / (1.0 + std::exp(-10.0 * (x[0].mean().item<double>() - x[1].mean().item<double>())));
  EXPECT_NEAR(p[0], expected, 1e-5);
  ASSERT_TRUE(m->has_ctr());
  EXPECT_EQ(static_cast<int64_t>(m->ctr(e.ads).size()), e.ads.size());

  // [B, 2] logits (left, right) go through a softmax: logits (a, b) -> sigmoid(a - b).
  const auto logits = save_module("logits", R"(
def forward(self, left, right):
    return torch.stack([10.0 * left.mean([1, 2, 3]), 10.0 * right.mean([1, 2, 3])], 1)
)");
  auto l = torchscript(logits);
  EXPECT_NEAR(l->prob_left(e.ads, e.pairs)[0], expected, 1e-5);
  EXPECT_FALSE(l->has_ctr());
}

TEST(TorchScriptRewardModel, BadFilesAndShapesAreErrors) {
  const auto& e = eval_set();
  auto missing = torchscript("/nonexistent/model.pt");
  EXPECT_NE(caig::testing::error_of([&] {
              missing->prob_left(e.ads, e.pairs);
            }).find("/nonexistent/model.pt"),
            std::string::npos);
  const auto wrong = save_module("wrong", R"(
def forward(self, left, right):
    return left.mean([2, 3])
)");
  auto w = torchscript(wrong);
  const auto msg = caig::testing::error_of([&] { w->prob_left(e.ads, e.pairs); });
  EXPECT_NE(msg.find("shape"), std::string::npos) << msg;
  PluginContext ctx{nullptr, 1};
  EXPECT_THROW(
      plugins_under_test().reward_models.create("torchscript", nlohmann::json::object(), ctx),
      Error);
}
