#include <cmath>

#include <gtest/gtest.h>

#include "harness/error.h"
#include "metrics/stats.h"

using namespace caig::metrics;

TEST(Stats, WilsonIntervalByHand) {
  // k = 8, n = 10, z = 1.96: centre = (0.8 + 0.19208) / 1.38416, half = 1.96/1.38416 *
  // sqrt(0.016 + 0.009604) -> [0.4902, 0.9433].
  const auto w = wilson_interval(8, 10, 1.96);
  EXPECT_NEAR(w.estimate, 0.8, 1e-12);
  EXPECT_NEAR(w.lo, 0.49016, 1e-4);
  EXPECT_NEAR(w.hi, 0.94332, 1e-4);
  const auto zero = wilson_interval(0, 20);
  EXPECT_EQ(zero.estimate, 0.0);
  EXPECT_EQ(zero.lo, 0.0);
  EXPECT_GT(zero.hi, 0.1);
  const auto empty = wilson_interval(0, 0);
  EXPECT_EQ(empty.lo, 0.0);
  EXPECT_EQ(empty.hi, 1.0);
  EXPECT_THROW(wilson_interval(3, 2), caig::Error);
}

TEST(Stats, MeanSdQuantile) {
  EXPECT_EQ(mean({}), 0.0);
  EXPECT_DOUBLE_EQ(mean({1, 2, 3, 4}), 2.5);
  EXPECT_DOUBLE_EQ(sample_sd({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0));
  EXPECT_EQ(sample_sd({5}), 0.0);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile({10, 20}, 0.25), 12.5);
  EXPECT_THROW(quantile({}, 0.5), caig::Error);
}

TEST(Stats, BootstrapRatioCoversEstimateAndIsDeterministic) {
  std::vector<std::pair<double, double>> groups;
  for (int i = 0; i < 200; ++i) groups.push_back({i % 4 == 0 ? 1.0 : 2.0, 3.0});
  const auto a = bootstrap_ratio(groups, 500, 1);
  const auto b = bootstrap_ratio(groups, 500, 1);
  EXPECT_NEAR(a.estimate, (50 * 1.0 + 150 * 2.0) / 600.0, 1e-12);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_LT(a.lo, a.estimate);
  EXPECT_GT(a.hi, a.estimate);
  // Identical groups: no spread at all.
  const auto flat = bootstrap_ratio(std::vector<std::pair<double, double>>(10, {1.0, 2.0}), 100, 3);
  EXPECT_DOUBLE_EQ(flat.lo, 0.5);
  EXPECT_DOUBLE_EQ(flat.hi, 0.5);
  const auto none = bootstrap_ratio({}, 100, 3);
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_EQ(none.hi, 1.0);
}

TEST(Stats, StudentT975FromTheTableAndTheApproximation) {
  EXPECT_NEAR(t975(1), 12.706, 1e-3);
  EXPECT_NEAR(t975(2), 4.303, 1e-3);
  EXPECT_NEAR(t975(9), 2.262, 1e-3);
  EXPECT_NEAR(t975(10), 2.228, 1e-3);  // past the table: the expansion
  EXPECT_NEAR(t975(30), 2.042, 1e-3);
  EXPECT_NEAR(t975(1000), 1.962, 1e-3);
  EXPECT_THROW(t975(0), caig::Error);
}

TEST(Stats, MeanTIntervalByHand) {
  // {1, 2, 3}: mean 2, sd 1, half width t975(2) / sqrt(3) = 4.303 / 1.732 = 2.484.
  const auto i = mean_t_interval({1, 2, 3});
  EXPECT_DOUBLE_EQ(i.estimate, 2.0);
  EXPECT_NEAR(i.lo, 2.0 - 2.4843, 1e-3);
  EXPECT_NEAR(i.hi, 2.0 + 2.4843, 1e-3);
  const auto one = mean_t_interval({0.7});  // one seed: no spread to show
  EXPECT_EQ(one.lo, 0.7);
  EXPECT_EQ(one.hi, 0.7);
  const auto same = mean_t_interval({0.5, 0.5});
  EXPECT_EQ(same.lo, 0.5);
  EXPECT_EQ(same.hi, 0.5);
  EXPECT_THROW(mean_t_interval({}), caig::Error);
}
