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
