#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "harness/error.h"
#include "metrics/ab_test.h"

using namespace caig::metrics;

TEST(AbTest, BinomialQuantileSmallCasesByHand) {
  // Binomial(2, 0.5): F(0) = 0.25, F(1) = 0.75, F(2) = 1; the quantile is the smallest k with
  // F(k) > u.
  EXPECT_EQ(binomial_quantile(2, 0.5, 0.0), 0);
  EXPECT_EQ(binomial_quantile(2, 0.5, 0.2499), 0);
  EXPECT_EQ(binomial_quantile(2, 0.5, 0.25), 1);
  EXPECT_EQ(binomial_quantile(2, 0.5, 0.7499), 1);
  EXPECT_EQ(binomial_quantile(2, 0.5, 0.75), 2);
  EXPECT_EQ(binomial_quantile(2, 0.5, 0.9999), 2);
  // Binomial(1, 0.3): F(0) = 0.7.
  EXPECT_EQ(binomial_quantile(1, 0.3, 0.69), 0);
  EXPECT_EQ(binomial_quantile(1, 0.3, 0.71), 1);
  // No impressions, no chance, certainty.
  EXPECT_EQ(binomial_quantile(0, 0.5, 0.9), 0);
  EXPECT_EQ(binomial_quantile(100, 0.0, 0.999), 0);
  EXPECT_EQ(binomial_quantile(100, 1.0, 0.0), 100);
}

TEST(AbTest, BinomialQuantileOfHugeCountsDoesNotUnderflow) {
  // (1 - 0.03)^1e6 underflows a double; the median of Binomial(1e6, 0.03) is 30000 and its 0.975
  // quantile 30335, its 0.025 quantile 29666 (summed from the log-pmf by hand).
  EXPECT_EQ(binomial_quantile(1000000, 0.03, 0.5), 30000);
  EXPECT_EQ(binomial_quantile(1000000, 0.03, 0.975), 30335);
  EXPECT_EQ(binomial_quantile(1000000, 0.03, 0.025), 29666);
}

TEST(AbTest, CommonRandomNumbersKeepTheCtrsOrder) {
  for (double u : {0.01, 0.2, 0.5, 0.8, 0.99})
    for (int64_t n : {10, 1000, 50000})
      EXPECT_LE(binomial_quantile(n, 0.020, u), binomial_quantile(n, 0.021, u)) << n << " " << u;
}

TEST(AbTest, BinomialQuantileRejectsBadArguments) {
  EXPECT_THROW(binomial_quantile(-1, 0.5, 0.5), caig::Error);
  EXPECT_THROW(binomial_quantile(10, 1.5, 0.5), caig::Error);
  EXPECT_THROW(binomial_quantile(10, std::nan(""), 0.5), caig::Error);
  EXPECT_THROW(binomial_quantile(10, 0.5, 1.0), caig::Error);
}

TEST(AbTest, DeltaMethodLiftByHand) {
  // Products (arm, control): (2, 1), (4, 3), (6, 4). R = 12 / 8 = 1.5; mean(y) = 8/3;
  // s_xx = 4, s_yy = 7/3, s_xy = 3 (n - 1 = 2); Var(R) = (4 - 2*1.5*3 + 2.25*7/3) / (3 * 64/9)
  // = 0.25 / 21.333 = 0.01171875; half width 1.959964 * 0.1082532 = 0.2121724.
  const auto l = lift_delta({{2, 1}, {4, 3}, {6, 4}});
  ASSERT_TRUE(l.has_value());
  EXPECT_NEAR(l->estimate, 0.5, 1e-12);
  EXPECT_NEAR(l->lo, 0.5 - 0.2121724, 1e-6);
  EXPECT_NEAR(l->hi, 0.5 + 0.2121724, 1e-6);
}

TEST(AbTest, LiftEdgeCases) {
  // The same clicks in both arms: no lift and no spread.
  const auto same = lift_delta({{3, 3}, {5, 5}, {0, 0}});
  ASSERT_TRUE(same.has_value());
  EXPECT_DOUBLE_EQ(same->estimate, 0.0);
  EXPECT_NEAR(same->lo, 0.0, 1e-12);
  EXPECT_NEAR(same->hi, 0.0, 1e-12);
  // No product, or a control without a click: the lift is undefined.
  EXPECT_FALSE(lift_delta({}).has_value());
  EXPECT_FALSE(lift_delta({{4, 0}, {2, 0}}).has_value());
  EXPECT_FALSE(lift_bootstrap({}, 100, 1).has_value());
  EXPECT_FALSE(lift_bootstrap({{4, 0}}, 100, 1).has_value());
  // One product: the estimate, with nothing to estimate a spread from.
  const auto one = lift_delta({{3, 2}});
  ASSERT_TRUE(one.has_value());
  EXPECT_DOUBLE_EQ(one->estimate, 0.5);
  EXPECT_DOUBLE_EQ(one->lo, 0.5);
  EXPECT_DOUBLE_EQ(one->hi, 0.5);
  // Huge counts stay finite.
  const auto big = lift_delta({{2e12, 1e12}, {4e12, 3e12}, {6e12, 4e12}});
  ASSERT_TRUE(big.has_value());
  EXPECT_NEAR(big->lo, 0.5 - 0.2121724, 1e-6);
}

TEST(AbTest, BootstrapLiftIsPairedAndSeeded) {
  const std::vector<PairedClicks> units = {{2, 1}, {4, 3}, {6, 4}};
  const auto b = lift_bootstrap(units, 2000, 11);
  ASSERT_TRUE(b.has_value());
  EXPECT_DOUBLE_EQ(b->estimate, 0.5);
  // Every resample's ratio lies between the products' own ratios (4/3 and 2).
  EXPECT_GE(b->lo, 1.0 / 3.0 - 1e-12);
  EXPECT_LE(b->hi, 1.0 + 1e-12);
  EXPECT_LT(b->lo, 0.5);
  EXPECT_GT(b->hi, 0.5);
  const auto again = lift_bootstrap(units, 2000, 11);
  EXPECT_EQ(again->lo, b->lo);
  EXPECT_EQ(again->hi, b->hi);
  // Pairs are resampled together: identical arms give a zero-width interval.
  const auto same = lift_bootstrap({{3, 3}, {5, 5}, {1, 1}}, 500, 3);
  EXPECT_NEAR(same->lo, 0.0, 1e-12);
  EXPECT_NEAR(same->hi, 0.0, 1e-12);
  EXPECT_THROW(relative_lift(units, "jackknife", 10, 1), caig::Error);
  EXPECT_EQ(relative_lift(units, "delta", 10, 1)->lo, lift_delta(units)->lo);
}

TEST(AbTest, MinimalDetectableLiftByHand) {
  // (1.959964 + 0.841621) * sqrt(2 * 0.02 * 0.98 / 10000) / 0.02 = 0.2773428.
  EXPECT_NEAR(minimal_detectable_lift(10000, 0.02), 0.2773428, 1e-6);
  // Four times the traffic halves it.
  EXPECT_NEAR(minimal_detectable_lift(40000, 0.02), 0.2773428 / 2, 1e-6);
  EXPECT_TRUE(std::isinf(minimal_detectable_lift(0, 0.02)));
  EXPECT_TRUE(std::isinf(minimal_detectable_lift(1000, 0.0)));
  EXPECT_THROW(minimal_detectable_lift(1000, 0.02, 0.01, 0.8), caig::Error);
}
