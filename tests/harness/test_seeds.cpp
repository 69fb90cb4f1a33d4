#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "harness/seeds.h"

TEST(Seeds, DerivedSeedsAreStableAndDistinct) {
  EXPECT_EQ(caig::derive_seed(7, "world"), caig::derive_seed(7, "world"));
  EXPECT_NE(caig::derive_seed(7, "world"), caig::derive_seed(7, "torch"));
  EXPECT_NE(caig::derive_seed(7, "world"), caig::derive_seed(8, "world"));
  std::set<uint64_t> s;
  for (uint64_t i = 0; i < 1000; ++i) s.insert(caig::derive_seed(7, i));
  EXPECT_EQ(s.size(), 1000u);
}

TEST(Seeds, RngIsReproducibleAndUniform) {
  caig::Rng a(42), b(42);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    const double u = a.uniform();
    EXPECT_EQ(u, b.uniform());
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.01);
}

TEST(Seeds, NormalHasUnitVariance) {
  caig::Rng r(1);
  double s = 0, ss = 0;
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s += x;
    ss += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.02);
  EXPECT_NEAR(ss / n, 1.0, 0.03);
}

TEST(Seeds, BinomialMatchesMeanAndVarianceAndEdges) {
  caig::Rng r(3);
  EXPECT_EQ(caig::sample_binomial(r, 0, 0.3), 0);
  EXPECT_EQ(caig::sample_binomial(r, 100, 0.0), 0);
  EXPECT_EQ(caig::sample_binomial(r, 100, 1.0), 100);
  EXPECT_THROW(caig::sample_binomial(r, -1, 0.3), std::exception);
  EXPECT_THROW(caig::sample_binomial(r, 5, 1.5), std::exception);
  for (double p : {0.03, 0.7}) {
    const int64_t n = 3000;
    const int reps = 4000;
    double s = 0, ss = 0;
    for (int i = 0; i < reps; ++i) {
      const auto k = static_cast<double>(caig::sample_binomial(r, n, p));
      ASSERT_GE(k, 0);
      ASSERT_LE(k, n);
      s += k;
      ss += k * k;
    }
    const double mean = s / reps, var = ss / reps - mean * mean;
    const double expect_var = static_cast<double>(n) * p * (1 - p);
    EXPECT_NEAR(mean, static_cast<double>(n) * p, 4 * std::sqrt(expect_var / reps)) << p;
    EXPECT_NEAR(var / expect_var, 1.0, 0.1) << p;
  }
}
