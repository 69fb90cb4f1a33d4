// GELU over the rows of a row-major matrix with a bias added on the fly, forward and backward, in
// one pass each. Torch-free; fused_mlp.h threads and wraps them for autograd.
//
// The erf-form GELU, v * Phi(v) for v = pre + bias, with Phi from Abramowitz & Stegun 7.1.26
// (|error| of erf below 1.5e-7) and the density sharing its one exponential. The forward writes
// the slope gelu'(v) beside the output, so the backward is a multiply, not a second erf and exp.
// The loops are plain arithmetic the compiler vectorises; on x86-64 with GCC they are built for
// AVX-512, AVX2 and the baseline and the loader picks the widest the CPU has.
#pragma once

#include <cstdint>

namespace caig::backbone {

// The standard normal density and distribution function at x, as the kernels compute them.
// Exposed for the tests.
void normal_pdf_cdf(float x, float& pdf, float& cdf);

// out[r, c] = gelu(v) for v = pre[r, c] + bias[c], rows [0, rows) of width cols. Where slope is
// not null, also slope[r, c] = gelu'(v), which is all the backward needs (slope may be pre itself:
// each element is read before it is written).
void bias_gelu_forward(const float* pre, const float* bias, float* out, float* slope, int64_t rows,
                       int64_t cols);

// grad[r, c] *= slope[r, c] in place (dL/dh becomes dL/dpre), and each column's new gradients are
// added to bias_grad[c] (so the bias gradient costs no pass of its own).
void gelu_slope_backward(const float* slope, float* grad, float* bias_grad, int64_t rows,
                         int64_t cols);

}  // namespace caig::backbone
