// The reward benchmark end to end on a small world: identical data and budget for every model,
// seeded and deterministic, metrics and records as documented, and the report rendered from them.
#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../support/test_util.h"
#include "baselines/register.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "methods/register.h"
#include "reports/reward_accuracy_report.h"
#include "reward_fixture.h"
#include "rewards/benchmark.h"
#include "rewards/register.h"

using namespace caig;
namespace fs = std::filesystem;

namespace {

void register_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    baselines::register_plugins(plugins());
    methods::register_plugins(plugins());
    rewards::register_plugins(plugins());
  });
}

rewards::BenchmarkOptions options(std::vector<std::string> models) {
  register_once();
  nlohmann::json stage = rewards::BenchmarkOptions::defaults();
  stage["models"] = models;
  stage["seeds"] = 2;
  stage["bootstrap"] = 50;
  return rewards::BenchmarkOptions::from_config(stage, caig::testing::tiny_experiment(), "cpu");
}

// The metrics without the spent budget and the curves' clocks (device seconds and memory are
// measurements, not results).
nlohmann::json without_spent(nlohmann::json j) {
  if (j.is_object()) {
    j.erase("spent");
    for (const char* k : {"device_seconds", "run_device_seconds", "device_seconds_per_seed"})
      j.erase(k);
    for (auto& [k, v] : j.items()) v = without_spent(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = without_spent(v);
  }
  return j;
}

}  // namespace

TEST(RewardBenchmark, EveryModelGetsTheSameBudgetAndTheTableIsDeterministic) {
  torch::set_num_threads(1);
  const auto& d = caig::testing::tiny_world_on_disk();
  const auto opt = options({"lr", "vam", "random", "oracle"});
  const auto experiment = caig::testing::tiny_experiment();
  const auto a = rewards::run_reward_benchmark(d, opt, experiment, 7);
  const auto b = rewards::run_reward_benchmark(d, opt, experiment, 7);
  // The same seed gives the same table.
  EXPECT_TRUE(without_spent(a.metrics) == without_spent(b.metrics));

  const auto& m = a.metrics;
  for (const std::string variant : {"commercial", "public"}) {
    const auto& ds = m["datasets"][variant];
    const int64_t pairs = ds["eval_pairs"].get<int64_t>();
    ASSERT_GT(pairs, 0);
    for (const std::string model : {"lr", "vam"}) {
      const auto& mm = ds["models"][model];
      ASSERT_TRUE(mm["trainable"].get<bool>());
      EXPECT_EQ(mm["per_seed"].size(), 2u);
      for (const auto& s : mm["per_seed"]) {
        EXPECT_EQ(s["spent"]["steps"].get<int64_t>(), 3);  // tiny_experiment: max_steps 3
        EXPECT_EQ(s["spent"]["exhausted_by"].get<std::string>(), "steps");
      }
      EXPECT_EQ(mm["observed"]["pairs"].get<int64_t>(), 2 * pairs);
      EXPECT_EQ(mm["observed"]["seeds"].get<int64_t>(), 2);
      EXPECT_TRUE(a.budget.contains(variant + "/" + model));
    }
    EXPECT_FALSE(ds["models"]["oracle"]["trainable"].get<bool>());
    // The oracle is right about every pair by true CTR.
    EXPECT_DOUBLE_EQ(ds["models"]["oracle"]["true"]["accuracy"].get<double>(), 1.0);
  }
  // One record per (variant, model, seed, pair).
  const int64_t per_variant = m["datasets"]["commercial"]["eval_pairs"].get<int64_t>();
  EXPECT_EQ(static_cast<int64_t>(a.records.size()), 2 * 4 * 2 * per_variant);
  const auto& r = a.records.front();
  for (const char* key : {"dataset", "model", "seed", "product_id", "left", "right", "label",
                          "true_label", "p_left", "p_left_swapped"})
    EXPECT_TRUE(r.contains(key)) << key;

  // The table and the figure render from the JSON alone.
  const auto t = reports::reward_accuracy_table(m);
  EXPECT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0][0], "lr");
  const auto detail = reports::reward_accuracy_detail_table(m, "public");
  EXPECT_EQ(detail.rows.size(), 4u);
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    const auto dir = fs::temp_directory_path() / ("caig_test_fig_" + std::to_string(::getpid()));
    reports::render_reward_accuracy_figure(m, dir);
    for (const char* f : {"reward_accuracy.png", "reward_accuracy.svg", "reward_accuracy.gp",
                          "reward_accuracy.dat"})
      EXPECT_TRUE(fs::exists(dir / f)) << f;
    fs::remove_all(dir);
  }
}

TEST(RewardBenchmark, RecomputingFromRecordsGivesTheTable) {
  const auto& d = caig::testing::tiny_world_on_disk();
  auto opt = options({"judge"});
  opt.seeds = 1;
  opt.variants = {"commercial"};
  const auto r = rewards::run_reward_benchmark(d, opt, caig::testing::tiny_experiment(), 3);
  int64_t correct = 0, n = 0;
  for (const auto& row : r.records) {
    const double p = row["p_left"].get<double>();
    const int label = row["label"].get<int>();
    correct += (label == 0 && p > 0.5) || (label == 1 && p < 0.5);
    ++n;
  }
  EXPECT_DOUBLE_EQ(
      r.metrics["datasets"]["commercial"]["models"]["judge"]["observed"]["accuracy"].get<double>(),
      static_cast<double>(correct) / static_cast<double>(n));
}

TEST(RewardBenchmark, BadConfigurationsAreErrors) {
  const auto& d = caig::testing::tiny_world_on_disk();
  auto opt = options({"lr"});
  opt.limits = BudgetLimits{};
  EXPECT_NE(caig::testing::error_of([&] {
              rewards::run_reward_benchmark(d, opt, caig::testing::tiny_experiment(), 1);
            }).find("budget"),
            std::string::npos);
  nlohmann::json stage = rewards::BenchmarkOptions::defaults();
  stage["models"] = {"lr", "nope"};
  EXPECT_NE(caig::testing::error_of([&] {
              rewards::BenchmarkOptions::from_config(stage, caig::testing::tiny_experiment(),
                                                     "cpu");
            }).find("nope"),
            std::string::npos);
  stage["models"] = {"lr"};
  stage["variants"] = {"private"};
  EXPECT_THROW(
      rewards::BenchmarkOptions::from_config(stage, caig::testing::tiny_experiment(), "cpu"),
      Error);
  auto exp = caig::testing::tiny_experiment();
  exp["reward_models"] = {{"lr", {{"lrr", 0.1}}}};
  EXPECT_NE(caig::testing::error_of([&] {
              rewards::check_reward_model_configs(exp, "exp.toml");
            }).find("lrr"),
            std::string::npos);
}
