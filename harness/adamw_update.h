// AdamW's update of one contiguous float parameter, as one pass over the parameter, its gradient
// and its two moments. Torch-free; fused_adamw.h calls it on slices, one per intra-op thread.
#pragma once

#include <cstdint>

namespace caig {

// The update's constants, each rounded to float once, as ATen rounds an operator's scalars.
struct AdamWCoefficients {
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bc2, eps, step_size;
};

// n elements, in the order of torch::optim::AdamW's operators:
// p *= 1 - lr wd; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n,
                  const AdamWCoefficients& c);

}  // namespace caig
