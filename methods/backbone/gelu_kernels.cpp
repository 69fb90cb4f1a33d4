#include "methods/backbone/gelu_kernels.h"

#include <cmath>
#include <cstring>

#include "harness/vector_clones.h"

namespace caig::backbone {

namespace {

constexpr float kLog2e = 1.44269504088896341f;
// ln 2 split so that n * kLn2Hi is exact for the |n| <= 126 used here.
constexpr float kLn2Hi = 0.693145751953125f;
constexpr float kLn2Lo = 1.42860676533018e-6f;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// e^a for a <= 0: a = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^7 (remainder
// below 5e-9), 2^n built in the exponent bits. The argument is clamped at -87 (e^-87 = 1.6e-38),
// which keeps n in the range the exponent bits can hold; a NaN is clamped too (the caller's NaN
// input still propagates through v). Products with the result can go subnormal far in the tails.
inline float exp_nonpositive(float a) {
  a = !(a >= -87.0f) ? -87.0f : a;
  const int n = static_cast<int>(a * kLog2e - 0.5f);  // a <= 0: truncation rounds to nearest
  const float nf = static_cast<float>(n);
  const float r = (a - nf * kLn2Hi) - nf * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Phi(x) and phi(x). A&S 7.1.26 gives erfc(z) = t (a1 + t (a2 + ...)) e^{-z^2}, t = 1 / (1 + p z),
// for z >= 0; with z = |x| / sqrt(2), e^{-z^2} = e^{-x^2/2} is also the density's, and
// Phi(-|x|) = erfc(z) / 2 is computed directly (no 1 - erf cancellation in the lower tail).
inline void pdf_cdf(float x, float& pdf, float& cdf) {
  const float e = exp_nonpositive(-0.5f * x * x);
  const float t = 1.0f / (1.0f + 0.3275911f * (std::fabs(x) * kInvSqrt2));
  const float poly =
      t * (0.254829592f +
           t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float lower_tail = 0.5f * poly * e;
  const float upper = 1.0f - lower_tail;  // both sides computed: a select, not a branch
  cdf = x < 0.0f ? lower_tail : upper;
  pdf = kInvSqrt2Pi * e;
}

}  // namespace

void normal_pdf_cdf(float x, float& pdf, float& cdf) { pdf_cdf(x, pdf, cdf); }

CAIG_VECTOR_CLONES
void bias_gelu_forward(const float* pre, const float* bias, float* out, float* slope, int64_t rows,
                       int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = pre + r * cols;
    float* o = out + r * cols;
    if (slope) {
      float* s = slope + r * cols;
      for (int64_t c = 0; c < cols; ++c) {
        const float v = in[c] + bias[c];
        float pdf, cdf;
        pdf_cdf(v, pdf, cdf);
        o[c] = v * cdf;
        s[c] = cdf + v * pdf;  // d/dv [v Phi(v)]
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        const float v = in[c] + bias[c];
        float pdf, cdf;
        pdf_cdf(v, pdf, cdf);
        o[c] = v * cdf;
      }
    }
  }
}

CAIG_VECTOR_CLONES
void gelu_slope_backward(const float* slope, float* grad, float* bias_grad, int64_t rows,
                         int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = slope + r * cols;
    float* g = grad + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      g[c] *= s[c];
      bias_grad[c] += g[c];
    }
  }
}

}  // namespace caig::backbone
