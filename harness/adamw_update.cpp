#include "harness/adamw_update.h"

#include <cmath>

#include "harness/vector_clones.h"

namespace caig {

CAIG_VECTOR_CLONES
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n,
                  const AdamWCoefficients& c) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    const float vi = v[i] * c.beta2 + c.one_minus_beta2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * c.decay - c.step_size * (mi / (std::sqrt(vi) / c.sqrt_bc2 + c.eps));
  }
}

}  // namespace caig
