#include "metrics/stats.h"

#include <algorithm>
#include <cmath>

#include "harness/error.h"
#include "harness/seeds.h"

namespace caig::metrics {

Interval wilson_interval(int64_t k, int64_t n, double z) {
  if (n < 0 || k < 0 || k > n) fail("wilson_interval: need 0 <= k <= n, got k={} n={}", k, n);
  if (n == 0) return {0.0, 0.0, 1.0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(k) / nn;
  const double z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sample_sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) fail("quantile of an empty sample");
  if (q < 0 || q > 1) fail("quantile: q={} outside [0, 1]", q);
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

Interval bootstrap_ratio(const std::vector<std::pair<double, double>>& groups, int replicates,
                         uint64_t seed, double level) {
  double num = 0, den = 0;
  for (const auto& [a, b] : groups) {
    num += a;
    den += b;
  }
  Interval out{den > 0 ? num / den : 0.0, 0.0, 0.0};
  if (groups.empty() || den <= 0) return {out.estimate, 0.0, 1.0};
  Rng rng(seed);
  std::vector<double> stats;
  stats.reserve(static_cast<size_t>(replicates));
  const int n = static_cast<int>(groups.size());
  for (int r = 0; r < replicates; ++r) {
    double rn = 0, rd = 0;
    for (int i = 0; i < n; ++i) {
      const auto& g = groups[static_cast<size_t>(rng.uniform_int(n))];
      rn += g.first;
      rd += g.second;
    }
    if (rd > 0) stats.push_back(rn / rd);
  }
  const double alpha = (1.0 - level) / 2.0;
  out.lo = quantile(stats, alpha);
  out.hi = quantile(stats, 1.0 - alpha);
  return out;
}

double t975(int64_t df) {
  if (df < 1) fail("t975: degrees of freedom must be >= 1, got {}", df);
  static const double t[] = {0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262};
  if (df < 10) return t[df];
  // Cornish-Fisher expansion of t around the normal quantile (error < 1e-3 from df = 10 on).
  const double z = 1.959963984540054, n = static_cast<double>(df);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

Interval mean_t_interval(const std::vector<double>& v) {
  if (v.empty()) fail("mean_t_interval: no values");
  const double m = mean(v);
  if (v.size() == 1) return {m, m, m};
  const double half = t975(static_cast<int64_t>(v.size()) - 1) * sample_sd(v) /
                      std::sqrt(static_cast<double>(v.size()));
  return {m, m - half, m + half};
}

}  // namespace caig::metrics
