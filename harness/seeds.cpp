#include "harness/seeds.h"

#include "harness/error.h"

namespace caig {

int64_t sample_binomial(Rng& rng, int64_t n, double p) {
  if (n < 0 || !(p >= 0.0 && p <= 1.0)) fail("sample_binomial: bad arguments n={} p={}", n, p);
  if (n == 0 || p == 0.0) return 0;
  if (p == 1.0) return n;
  if (p > 0.5) return n - sample_binomial(rng, n, 1.0 - p);
  // Count successes by jumping over failures: each gap is Geometric(p), drawn by inversion.
  const double log_q = std::log1p(-p);
  int64_t successes = 0;
  int64_t position = 0;
  while (true) {
    double u = rng.uniform();
    while (u <= 0.0) u = rng.uniform();
    const double gap = std::floor(std::log(u) / log_q);
    position += static_cast<int64_t>(gap) + 1;
    if (position > n || gap > static_cast<double>(n)) return successes;
    ++successes;
  }
}

}  // namespace caig
