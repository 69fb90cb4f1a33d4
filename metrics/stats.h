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

// Percentile bootstrap of a ratio of sums over groups (e.g. correct / total pairs per product):
// resamples groups with replacement. Groups are (numerator, denominator).
Interval bootstrap_ratio(const std::vector<std::pair<double, double>>& groups, int replicates,
                         uint64_t seed, double level = 0.95);

}  // namespace caig::metrics
