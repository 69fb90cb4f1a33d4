#include <cmath>

#include <gtest/gtest.h>

#include "harness/lr_schedule.h"
#include "tests/support/test_util.h"

using namespace caig;
using caig::testing::error_of;

TEST(CosineSchedule, WarmsUpLinearlyThenDecaysToTheFinalRatioAtTheHorizon) {
  const CosineSchedule s{2e-3, 4, 104, 0.1};
  EXPECT_DOUBLE_EQ(s.at(0), 2e-3 / 4);  // step 0 already trains
  EXPECT_DOUBLE_EQ(s.at(3), 2e-3);
  EXPECT_DOUBLE_EQ(s.at(4), 2e-3);  // the decay starts at the peak
  // Half way through the decay the cosine term is 0.5: 0.1 + 0.9 * 0.5 = 0.55 of the peak.
  EXPECT_NEAR(s.at(54), 0.55 * 2e-3, 1e-15);
  // A quarter: (1 + cos(pi / 4)) / 2 = 0.853553.
  EXPECT_NEAR(s.at(29), 2e-3 * (0.1 + 0.9 * 0.8535533905932737), 1e-15);
  EXPECT_NEAR(s.at(104), 0.1 * 2e-3, 1e-15);
  EXPECT_NEAR(s.at(500), 0.1 * 2e-3, 1e-15);  // constant after the horizon
}

TEST(CosineSchedule, NoWarmUpAndAHorizonAtTheWarmUpDoNotDivideByZero) {
  EXPECT_DOUBLE_EQ((CosineSchedule{1.0, 0, 10, 0.0}.at(0)), 1.0);
  EXPECT_DOUBLE_EQ((CosineSchedule{1.0, 0, 10, 0.0}.at(10)), 0.0);
  EXPECT_NEAR((CosineSchedule{1.0, 5, 5, 0.2}.at(5)), 1.0, 1e-15);  // progress 0 of 1 step
  EXPECT_NEAR((CosineSchedule{1.0, 5, 5, 0.2}.at(6)), 0.2, 1e-15);
}

TEST(CosineSchedule, NeverRaisesTheLearningRateOnceTheDecayHasBegun) {
  const CosineSchedule s{1.0, 4, 104, 0.1};
  EXPECT_DOUBLE_EQ(s.at(54, 0.3), 0.3);  // a horizon moved later: the annealed lr stays
  EXPECT_NEAR(s.at(54, 0.9), 0.55, 1e-15);
  EXPECT_NEAR(s.at(54, -1.0), 0.55, 1e-15);  // none applied yet
  EXPECT_DOUBLE_EQ(s.at(1, 0.25), 0.5);      // the warm-up still rises
}

TEST(HorizonWithinCap, FitsTheRemainingTimeLessTheMarginWithinMaxSteps) {
  // (420 - 20) s left, half planned, at 0.25 s a step: 800 more steps after step 160.
  EXPECT_EQ(horizon_within_cap(2200, 160, 20.0, 420.0, 0.25, 0.5), 960);
  EXPECT_EQ(horizon_within_cap(2200, 160, 20.0, 420.0, 0.25, 0.0), 1760);
  // A fast machine: everything fits, the plan stays max_steps.
  EXPECT_EQ(horizon_within_cap(2200, 160, 20.0, 420.0, 0.01, 0.0), 2200);
  EXPECT_EQ(horizon_within_cap(2200, 160, 20.0, 420.0, 1e-300, 0.0), 2200);  // no overflow
  // Partial steps round down; the cap already spent still plans one step.
  EXPECT_EQ(horizon_within_cap(2200, 160, 20.0, 420.0, 0.3, 0.0), 160 + 1333);
  EXPECT_EQ(horizon_within_cap(2200, 160, 500.0, 420.0, 0.25, 0.0), 161);
  EXPECT_EQ(horizon_within_cap(2200, 2200, 500.0, 420.0, 0.25, 0.0), 2200);  // never past the end
}

TEST(HorizonWithinCap, RejectsANonPositiveCapOrStepTimeAndAMarginOutsideZeroToOne) {
  EXPECT_NE(error_of([] { horizon_within_cap(10, 0, 0, 0.0, 0.1, 0); }).find("must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of([] { horizon_within_cap(10, 0, 0, 5.0, 0.0, 0); }).find("must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              horizon_within_cap(10, 0, 0, 5.0, 0.1, 1.0);
            }).find("margin must be in [0, 1), got 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { ScheduleFit(10, 5.0, 0, -1, 0.0); }).find("probe steps must be >= 0"),
            std::string::npos);
}

TEST(ScheduleFit, TimesEachWindowAndLaysTheHorizonOverWhatFitsTheRestOfTheCap) {
  ScheduleFit fit(2200, 420.0, 60, 100, 0.5);
  EXPECT_EQ(fit.horizon(), 2200);
  for (int64_t s = 1; s <= 60; ++s) fit.observe(s, 0.5 * static_cast<double>(s) - 10.0);
  EXPECT_FALSE(fit.fitted());  // step 60 at 20 s opens the first window
  fit.observe(100, 30.0);
  EXPECT_EQ(fit.horizon(), 2200);
  fit.observe(160, 45.0);  // 100 steps in 25 s: 0.25 s a step, (420 - 45) / 2 / 0.25 = 750 more
  ASSERT_TRUE(fit.fitted());
  EXPECT_EQ(fit.horizon(), 910);
  fit.observe(200, 400.0);  // inside the next window: no estimate yet
  EXPECT_EQ(fit.horizon(), 910);
  fit.observe(260, 95.0);  // the machine slowed to 0.5 s a step: (420 - 95) / 2 / 0.5 = 325 more
  EXPECT_EQ(fit.horizon(), 585);
  const auto j = fit.to_json();
  EXPECT_EQ(j["horizon"], 585);
  EXPECT_DOUBLE_EQ(j["seconds_per_step"].get<double>(), 0.5);
  EXPECT_EQ(j["probe_steps"], 100);
  EXPECT_EQ(j["fitted_at_step"], 260);
  EXPECT_EQ(j["fits"], 2);

  // A resumed run starts from the recorded horizon (at most its own max_steps) until its own
  // first window closes.
  ScheduleFit resumed(2200, 420.0, 300, 100, 0.5);
  resumed.restore(j);
  EXPECT_TRUE(resumed.fitted());
  EXPECT_EQ(resumed.horizon(), 585);
  resumed.observe(300, 0.0);
  resumed.observe(350, 10.0);
  EXPECT_EQ(resumed.horizon(), 585);
  resumed.observe(400, 25.0);  // its own cap: (420 - 25) / 2 / 0.25 = 790 more
  EXPECT_EQ(resumed.horizon(), 1190);
  EXPECT_EQ(resumed.to_json()["fits"], 3);
  ScheduleFit shorter(500, 420.0, 300, 100, 0.5);
  shorter.restore(j);
  EXPECT_EQ(shorter.horizon(), 500);
}

TEST(ScheduleFit, WithoutACapOrProbeStepsOrARecordedDecisionTheHorizonIsMaxSteps) {
  for (auto [cap, probe] : {std::pair{0.0, int64_t{100}}, std::pair{420.0, int64_t{0}}}) {
    ScheduleFit fit(2200, cap, 0, probe, 0.05);
    for (int64_t s = 0; s <= 300; ++s) fit.observe(s, static_cast<double>(s));
    EXPECT_FALSE(fit.fitted());
    EXPECT_EQ(fit.horizon(), 2200);
    EXPECT_EQ(fit.to_json(), (nlohmann::json{{"horizon", 2200}, {"fitted", false}}));
  }
  // A run that fits nothing (no cap, or no probe steps) keeps max_steps over a recorded fit.
  const nlohmann::json recorded = {
      {"horizon", 900},        {"fitted", true}, {"seconds_per_step", 0.2},
      {"fitted_at_step", 800}, {"fits", 7},      {"probe_steps", 100}};
  for (auto [cap, probe] : {std::pair{0.0, int64_t{100}}, std::pair{420.0, int64_t{0}}}) {
    ScheduleFit uncapped(2200, cap, 0, probe, 0.05);
    uncapped.restore(recorded);
    EXPECT_EQ(uncapped.horizon(), 2200);
    EXPECT_FALSE(uncapped.fitted());
  }
  // A record from before the first fit (or none at all) leaves the run to probe for itself.
  ScheduleFit fit(2200, 420.0, 10, 10, 0.0);
  fit.restore({{"horizon", 2200}, {"fitted", false}});
  fit.restore(nullptr);
  EXPECT_FALSE(fit.fitted());
  fit.observe(10, 1.0);
  fit.observe(20, 2.0);  // 0.1 s a step; (420 - 2) / 0.1 = 4180 more steps: all of max_steps
  EXPECT_TRUE(fit.fitted());
  EXPECT_EQ(fit.horizon(), 2200);
  // A clock that did not move gives no estimate; the next window still does.
  ScheduleFit still(2200, 420.0, 10, 10, 0.0);
  still.observe(10, 1.0);
  still.observe(20, 1.0);
  EXPECT_FALSE(still.fitted());
  still.observe(30, 101.0);  // 10 s a step: (420 - 101) / 10 = 31.9 more
  EXPECT_EQ(still.horizon(), 61);
  // A decided record without its timing is an error naming the trainer state.
  ScheduleFit broken(2200, 420.0, 10, 10, 0.0);
  EXPECT_NE(error_of([&] {
              broken.restore({{"horizon", 900}, {"fitted", true}, {"seconds_per_step", 0.2}});
            }).find("malformed record in the trainer state"),
            std::string::npos);
}
