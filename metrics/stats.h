// Small statistical estimators used across experiments; pure functions, unit-tested by hand.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig::metrics {

struct Interval {
  double estimate = 0, lo = 0, hi = 0;
  nlohmann::json to_json() const { return {{"estimate", estimate}, {"lo", lo}, {"hi", hi}}; }
};

// Wilson score interval for k successes in n trials (n = 0 gives {0, 0, 1}).
Interval wilson_interval(int64_t k, int64_t n, double z = 1.959963984540054);

double mean(const std::vector<double>& v);         // 0 for empty input
double sample_sd(const std::vector<double>& v);    // n - 1 denominator; 0 for fewer than 2
double quantile(std::vector<double> v, double q);  // linear interpolation; error when empty

// The 0.975 quantile of Student's t with `df` degrees of freedom (tabled to 9, then a
// Cornish-Fisher expansion within 0.001); df < 1 is an Error.
double t975(int64_t df);
// Mean of `v` with its two-sided 95% t interval (n - 1 degrees of freedom); one value: lo = hi =
// the value; empty: an Error.
Interval mean_t_interval(const std::vector<double>& v);

// Percentile bootstrap of a ratio of sums over groups (e.g. correct / total pairs per product):
// resamples groups with replacement. Groups are (numerator, denominator).
Interval bootstrap_ratio(const std::vector<std::pair<double, double>>& groups, int replicates,
                         uint64_t seed, double level = 0.95);

}  // namespace caig::metrics
