#include "metrics/ab_test.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "harness/error.h"
#include "harness/seeds.h"

namespace caig::metrics {

namespace {
constexpr double kZ975 = 1.959963984540054;
constexpr double kZ80 = 0.8416212335729143;

double log_pmf(int64_t n, double p, int64_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1) + static_cast<double>(k) * std::log(p) +
         static_cast<double>(n - k) * std::log1p(-p);
}
}  // namespace

int64_t binomial_quantile(int64_t n, double p, double u) {
  if (n < 0) fail("binomial_quantile: n must be >= 0, got {}", n);
  if (!(p >= 0 && p <= 1)) fail("binomial_quantile: p must be in [0, 1], got {}", p);
  if (!(u >= 0 && u < 1)) fail("binomial_quantile: u must be in [0, 1), got {}", u);
  if (n == 0 || p == 0) return 0;
  if (p == 1) return n;
  // The pmf over a window around the mode wide enough that what lies outside is below double
  // precision (40 sd), normalised over the window: no underflow of (1 - p)^n for large n.
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(mean * (1 - p));
  const auto lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(mean - 40 * sd - 10)));
  const auto hi = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(mean + 40 * sd + 10)));
  const auto mode = std::clamp<int64_t>(static_cast<int64_t>(std::floor((n + 1) * p)), lo, hi);
  const double top = log_pmf(n, p, mode);
  std::vector<double> w(static_cast<size_t>(hi - lo + 1));
  double total = 0;
  for (int64_t k = lo; k <= hi; ++k)
    total += w[static_cast<size_t>(k - lo)] = std::exp(log_pmf(n, p, k) - top);
  const double target = u * total;
  double cumulative = 0;
  for (int64_t k = lo; k <= hi; ++k) {
    cumulative += w[static_cast<size_t>(k - lo)];
    if (cumulative > target) return k;
  }
  return hi;
}

std::optional<Interval> lift_delta(const std::vector<PairedClicks>& units) {
  if (units.empty()) return std::nullopt;
  const double n = static_cast<double>(units.size());
  double sx = 0, sy = 0;
  for (const auto& u : units) {
    sx += u.arm;
    sy += u.control;
  }
  if (sy <= 0) return std::nullopt;
  const double mx = sx / n, my = sy / n, r = sx / sy;
  if (units.size() < 2) return Interval{r - 1, r - 1, r - 1};
  double vxx = 0, vyy = 0, vxy = 0;
  for (const auto& u : units) {
    vxx += (u.arm - mx) * (u.arm - mx);
    vyy += (u.control - my) * (u.control - my);
    vxy += (u.arm - mx) * (u.control - my);
  }
  vxx /= n - 1;
  vyy /= n - 1;
  vxy /= n - 1;
  const double var = std::max(0.0, (vxx - 2 * r * vxy + r * r * vyy) / (n * my * my));
  const double half = kZ975 * std::sqrt(var);
  return Interval{r - 1, r - 1 - half, r - 1 + half};
}

std::optional<Interval> lift_bootstrap(const std::vector<PairedClicks>& units, int replicates,
                                       uint64_t seed) {
  if (replicates < 1) fail("lift_bootstrap: replicates must be >= 1, got {}", replicates);
  if (units.empty()) return std::nullopt;
  double sx = 0, sy = 0;
  for (const auto& u : units) {
    sx += u.arm;
    sy += u.control;
  }
  if (sy <= 0) return std::nullopt;
  Rng rng(seed);
  std::vector<double> stats;
  const auto n = static_cast<int64_t>(units.size());
  for (int r = 0; r < replicates; ++r) {
    double rx = 0, ry = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto& u = units[static_cast<size_t>(rng.uniform_index(n))];
      rx += u.arm;
      ry += u.control;
    }
    // A resample whose control has no click has no ratio: it counts as the largest lift, so the
    // interval widens instead of silently forgetting it.
    stats.push_back(ry > 0 ? rx / ry - 1 : std::numeric_limits<double>::max());
  }
  return Interval{sx / sy - 1, quantile(stats, 0.025), quantile(stats, 0.975)};
}

std::optional<Interval> relative_lift(const std::vector<PairedClicks>& units,
                                      const std::string& method, int replicates, uint64_t seed) {
  if (method == "delta") return lift_delta(units);
  if (method == "bootstrap") return lift_bootstrap(units, replicates, seed);
  fail("unknown lift interval '{}'; known: bootstrap, delta", method);
}

double minimal_detectable_lift(double impressions, double ctr, double alpha, double power) {
  if (alpha != 0.05 || power != 0.8)
    fail("minimal_detectable_lift: only alpha 0.05 and power 0.8 are tabled, got {} and {}", alpha,
         power);
  if (!(impressions > 0) || !(ctr > 0) || ctr >= 1) return std::numeric_limits<double>::infinity();
  return (kZ975 + kZ80) * std::sqrt(2 * ctr * (1 - ctr) / impressions) / ctr;
}

}  // namespace caig::metrics
