// The learning-curve grid, the budget arithmetic behind it, and the curves and converged row of
// the reward benchmark: from the same trainings, leaving the equal-budget table as it was.
#include <cmath>
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
#include "rewards/learning_curve.h"
#include "rewards/register.h"

using namespace caig;
using namespace caig::rewards;

TEST(CurveFractions, LogSpacedToTheBudgetThenOnToTheCap) {
  CurveOptions o;
  o.points = 3;
  o.first_fraction = 0.01;
  o.converge = false;
  auto f = curve_fractions(o);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_DOUBLE_EQ(f[0], 0.01);
  EXPECT_NEAR(f[1], 0.1, 1e-12);  // ratio sqrt(100) = 10
  EXPECT_EQ(f[2], 1.0);           // exactly the budget
  o.converge = true;
  o.cap = 50;  // on at ratio 10 while <= 50: 10 only
  f = curve_fractions(o);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_NEAR(f[3], 10.0, 1e-9);
  o.cap = 100;  // 100 itself is included
  EXPECT_EQ(curve_fractions(o).size(), 5u);
  o.points = 1;
  EXPECT_EQ(curve_fractions(o), std::vector<double>{1.0});
  o.points = 0;
  EXPECT_TRUE(curve_fractions(o).empty());
  o.points = 4;
  o.first_fraction = 1.0;
  EXPECT_THROW(curve_fractions(o), Error);
}

TEST(BudgetFraction, TheLargestShareOfTheLimitsThatAreSet) {
  BudgetLimits l;
  EXPECT_EQ(budget_fraction(l, 100, 10, 5.0), 0.0);  // no limit set
  l.max_samples = 1000;
  l.max_device_seconds = 20;
  EXPECT_DOUBLE_EQ(budget_fraction(l, 250, 99, 2.0), 0.25);  // steps are not limited
  EXPECT_EQ(binding_limit(l, 250, 99, 2.0), "samples");
  EXPECT_DOUBLE_EQ(budget_fraction(l, 250, 99, 10.0), 0.5);
  EXPECT_EQ(binding_limit(l, 250, 99, 10.0), "device_seconds");
  l.max_steps = 50;
  EXPECT_DOUBLE_EQ(budget_fraction(l, 250, 99, 10.0), 99.0 / 50.0);
  EXPECT_EQ(binding_limit(l, 250, 99, 10.0), "steps");
}

TEST(ScaledLimits, ScalesTheSetLimitsAndRoundsCountsUp) {
  BudgetLimits l;
  l.max_samples = 1001;
  l.max_device_seconds = 20;
  const auto s = scaled_limits(l, 2.5);
  EXPECT_EQ(s.max_samples, 2503);  // ceil(2502.5)
  EXPECT_EQ(s.max_steps, 0);       // unset stays unset
  EXPECT_DOUBLE_EQ(s.max_device_seconds, 50.0);
}

namespace {

void register_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    baselines::register_plugins(plugins());
    methods::register_plugins(plugins());
    rewards::register_plugins(plugins());
  });
}

// A small world with a sample budget of 20 steps (lr: 256 ads a step), so the curve's points
// fall at different steps.
BenchmarkOptions options(int points, bool converge) {
  register_once();
  nlohmann::json stage = BenchmarkOptions::defaults();
  stage["models"] = {"lr", "random"};
  stage["variants"] = {"commercial"};
  stage["seeds"] = 2;
  stage["bootstrap"] = 20;
  stage["curve_points"] = points;
  stage["converge"] = converge;
  stage["patience"] = 2;
  stage["converged_cap"] = 4.0;
  auto experiment = caig::testing::tiny_experiment();
  experiment["budget"] = {{"max_samples", 5120}, {"max_steps", 0}, {"max_device_seconds", 0}};
  return BenchmarkOptions::from_config(stage, experiment, "cpu");
}

nlohmann::json experiment() {
  auto e = caig::testing::tiny_experiment();
  e["budget"] = {{"max_samples", 5120}, {"max_steps", 0}, {"max_device_seconds", 0}};
  return e;
}

const nlohmann::json& lr_of(const BenchmarkResult& r) {
  return r.metrics["datasets"]["commercial"]["models"]["lr"];
}

}  // namespace

TEST(RewardCurves, TheEqualBudgetTableIsTheSameWithAndWithoutCurves) {
  torch::set_num_threads(1);
  const auto& d = caig::testing::tiny_world_on_disk();
  const auto plain = run_reward_benchmark(d, options(0, false), experiment(), 5);
  const auto curved = run_reward_benchmark(d, options(6, true), experiment(), 5);
  for (const char* key : {"observed", "true"})
    EXPECT_EQ(lr_of(plain)[key], lr_of(curved)[key]) << key;
  EXPECT_EQ(plain.records, curved.records);
  EXPECT_FALSE(lr_of(plain).contains("curve"));
  // The table's spent budget is the budget's, though the converged training ran on past it.
  for (const auto& s : lr_of(curved)["per_seed"]) {
    EXPECT_GE(s["spent"]["samples"].get<int64_t>(), 5120);
    EXPECT_LT(s["spent"]["samples"].get<int64_t>(), 5120 + 256);  // within a step (256 ads) of it
    EXPECT_EQ(s["spent"]["exhausted_by"], "samples");
  }
}

TEST(RewardCurves, CurvePointsAndTheConvergedRowAreRecordedAndReported) {
  torch::set_num_threads(1);
  const auto& d = caig::testing::tiny_world_on_disk();
  const auto r = run_reward_benchmark(d, options(6, true), experiment(), 5);
  const auto& lr = lr_of(r);
  ASSERT_TRUE(lr.contains("curve"));
  const auto& curve = lr["curve"];
  EXPECT_EQ(curve["per_seed"].size(), 2u);
  // The points are in order of the budget, and every point has its figures in [0, 1].
  double last = -1;
  for (const auto& p : curve["summary"]) {
    EXPECT_GT(p["samples"].get<double>(), last);
    last = p["samples"].get<double>();
    const auto& a = p["accuracy"];
    EXPECT_LE(a["lo"].get<double>(), a["estimate"].get<double>());
    EXPECT_GE(a["hi"].get<double>(), a["estimate"].get<double>());
    EXPECT_GE(p["consistency"].get<double>(), 0.0);
    EXPECT_LE(p["consistency"].get<double>(), 1.0);
  }
  EXPECT_GE(curve["summary"].size(), 4u);
  // The converged row: the best validation point of each seed, within the cap.
  ASSERT_TRUE(lr.contains("converged"));
  const auto& c = lr["converged"];
  for (const auto& s : c["per_seed"]) {
    EXPECT_LE(s["samples"].get<int64_t>(), s["run_samples"].get<int64_t>());
    EXPECT_LE(s["run_samples"].get<int64_t>(), 4 * 5120 + 256);
    const std::string by = s["stopped_by"];
    EXPECT_TRUE(by == "patience" || by == "cap (samples)") << by;
  }
  EXPECT_GT(c["observed"]["accuracy"].get<double>(), 0.0);
  // budget.json counts the whole training, table and beyond.
  EXPECT_GE(r.budget["commercial/lr"]["samples"].get<int64_t>(), 2 * 5120);
  // A fixed model has no curve, and the converged table shows it as fixed.
  EXPECT_FALSE(r.metrics["datasets"]["commercial"]["models"]["random"].contains("curve"));
  const auto t = reports::reward_converged_table(r.metrics, "commercial");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[1].back(), "fixed model");
  EXPECT_NE(t.rows[0].back().find('x'), std::string::npos);  // "patience x2" or the like
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    const auto dir = caig::testing::process_temp_dir() / "curve_fig";
    reports::render_reward_curve_figure(r.metrics, "commercial", dir);
    EXPECT_TRUE(std::filesystem::exists(dir / "reward_curves_commercial.png"));
    EXPECT_TRUE(std::filesystem::exists(dir / "reward_curves_commercial.svg"));
  }
}

TEST(RewardCurves, PatienceEndsTheConvergedTrainingBeforeTheCap) {
  torch::set_num_threads(1);
  const auto& d = caig::testing::tiny_world_on_disk();
  auto o = options(6, true);
  o.curve.patience = 1;
  o.curve.cap = 1000;  // the cap is out of reach: only patience (or the data) ends it
  const auto r = run_reward_benchmark(d, o, experiment(), 5);
  for (const auto& s : lr_of(r)["converged"]["per_seed"]) {
    EXPECT_EQ(s["stopped_by"], "patience");
    EXPECT_LT(s["run_samples"].get<int64_t>(), 1000 * 5120);
  }
}

TEST(RewardCurves, BadCurveSettingsAreErrorsNamingTheKey) {
  register_once();
  nlohmann::json stage = BenchmarkOptions::defaults();
  stage["models"] = {"lr"};
  stage["patience"] = 0;
  EXPECT_NE(caig::testing::error_of([&] {
              BenchmarkOptions::from_config(stage, experiment(), "cpu");
            }).find("patience"),
            std::string::npos);
  stage["patience"] = 3;
  stage["converged_cap"] = 0.5;
  EXPECT_NE(caig::testing::error_of([&] {
              BenchmarkOptions::from_config(stage, experiment(), "cpu");
            }).find("converged_cap"),
            std::string::npos);
}
