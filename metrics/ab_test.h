// The simulated online A/B test's estimators (DESIGN.md, "Metrics": CTR lift over the control
// arm): click counts drawn with common random numbers, the relative lift with its 95% interval
// (delta method or a paired bootstrap over products) and the minimal detectable lift at a given
// traffic. Pure functions, unit-tested by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/stats.h"

namespace caig::metrics {

// The u-quantile of Binomial(n, p): the smallest k with P(X <= k) >= u, for u in [0, 1). One
// uniform per count makes counts drawn with the same u for two CTRs ordered as the CTRs are (the
// common random numbers of an A/B test: the arms differ by their ads, not by their luck).
// n >= 0 and p in [0, 1], else an Error.
int64_t binomial_quantile(int64_t n, double p, double u);

// One unit of a paired comparison: a product's clicks in an arm and in the control arm, with the
// same impressions in both.
struct PairedClicks {
  double arm = 0, control = 0;
};

// The relative lift sum(arm) / sum(control) - 1 of a ratio of totals over products, with its
// two-sided 95% interval:
// - delta: R = mean(x) / mean(y) over n products; Var(R) ~ (s_xx - 2 R s_xy + R^2 s_yy) /
//   (n mean(y)^2), sample (co)variances with n - 1; interval R - 1 -/+ 1.96 sd. One product: the
//   interval is the estimate itself (no spread to estimate).
// - bootstrap: products resampled with replacement (pairs kept together), percentile interval.
// nullopt when there is no product or the control has no click (the lift is undefined).
std::optional<Interval> lift_delta(const std::vector<PairedClicks>& units);
std::optional<Interval> lift_bootstrap(const std::vector<PairedClicks>& units, int replicates,
                                       uint64_t seed);
// method "delta" or "bootstrap" (else an Error naming it).
std::optional<Interval> relative_lift(const std::vector<PairedClicks>& units,
                                      const std::string& method, int replicates, uint64_t seed);

// The smallest relative lift a two-sided test at `alpha` detects with `power` when each of two
// arms gets `impressions` independent impressions at CTR `ctr` (normal approximation):
// (z_{1 - alpha/2} + z_{power}) sqrt(2 ctr (1 - ctr) / impressions) / ctr. Infinite when there is
// no traffic or no click to expect. alpha 0.05 and power 0.8 only (their z are tabled); other
// values are an Error.
double minimal_detectable_lift(double impressions, double ctr, double alpha = 0.05,
                               double power = 0.8);

}  // namespace caig::metrics
