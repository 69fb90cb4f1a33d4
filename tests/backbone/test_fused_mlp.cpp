// gelu_mlp and its GELU kernels: the distribution function against erfc in double precision, the
// kernels' forward, slope and backward worked by hand, and the fused MLP against the same MLP
// written with ATen operators in double precision, in values and in all five gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "methods/backbone/fused_mlp.h"
#include "methods/backbone/gelu_kernels.h"

namespace caig::backbone {
namespace {

double exact_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double exact_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); }
double exact_gelu(double x) { return x * exact_cdf(x); }
double exact_slope(double x) { return exact_cdf(x) + x * exact_pdf(x); }

TEST(GeluKernels, NormalDistributionMatchesErfcEverywhere) {
  // A&S 7.1.26 bounds erf's error by 1.5e-7, so Phi's by 7.5e-8; float rounding of the
  // polynomial and the exponential adds up to about as much again.
  for (double x = -12.0; x <= 12.0; x += 0.01) {
    float pdf = -1.0f, cdf = -1.0f;
    normal_pdf_cdf(static_cast<float>(x), pdf, cdf);
    const double xf = static_cast<float>(x);
    ASSERT_NEAR(cdf, exact_cdf(xf), 2.5e-7) << "x = " << x;
    // Relative: rounding -x^2/2 to float moves e^(-x^2/2) by about 6e-8 x^2 of itself.
    ASSERT_NEAR(pdf, exact_pdf(xf), 1e-7 * (2 + xf * xf) * exact_pdf(xf) + 1e-37) << "x = " << x;
    ASSERT_GE(cdf, 0.0f);
    ASSERT_LE(cdf, 1.0f);
  }
  float pdf, cdf;
  normal_pdf_cdf(0.0f, pdf, cdf);
  EXPECT_FLOAT_EQ(cdf, 0.5f);
  EXPECT_FLOAT_EQ(pdf, static_cast<float>(1.0 / std::sqrt(2.0 * M_PI)));
  // Far tails: no NaN, no negative probability, no underflow trap.
  normal_pdf_cdf(-60.0f, pdf, cdf);
  EXPECT_GE(cdf, 0.0f);
  EXPECT_LT(cdf, 1e-30f);
  EXPECT_GE(pdf, 0.0f);
  EXPECT_LT(pdf, 1e-30f);
  normal_pdf_cdf(60.0f, pdf, cdf);
  EXPECT_EQ(cdf, 1.0f);
}

TEST(GeluKernels, ForwardAddsTheBiasAndWritesTheSlope) {
  // Two rows of three: v = pre + bias = {-3, 0, 1.5} and {0.25, -0.5, 4}.
  const std::vector<float> pre{-2.0f, 0.5f, 0.5f, 1.25f, 0.0f, 3.0f};
  const std::vector<float> bias{-1.0f, -0.5f, 1.0f};
  const std::vector<double> v{-3.0, 0.0, 1.5, 0.25, -0.5, 4.0};
  std::vector<float> out(6, -9.0f), slope(6, -9.0f), out_only(6, -9.0f);
  bias_gelu_forward(pre.data(), bias.data(), out.data(), slope.data(), 2, 3);
  bias_gelu_forward(pre.data(), bias.data(), out_only.data(), nullptr, 2, 3);
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(out[i], exact_gelu(v[i]), 2e-7 * (1 + std::abs(v[i]))) << i;
    EXPECT_NEAR(slope[i], exact_slope(v[i]), 4e-7 * (1 + std::abs(v[i]))) << i;
    EXPECT_EQ(out_only[i], out[i]) << i;
  }
  EXPECT_EQ(out[1], 0.0f);    // gelu(0) = 0
  EXPECT_EQ(slope[1], 0.5f);  // gelu'(0) = Phi(0) = 1/2
  // The slope may overwrite the pre-activation it is computed from.
  std::vector<float> in_place = pre;
  bias_gelu_forward(in_place.data(), bias.data(), out.data(), in_place.data(), 2, 3);
  EXPECT_EQ(in_place, slope);
}

TEST(GeluKernels, BackwardScalesByTheSlopeAndAddsToTheBiasGradient) {
  const std::vector<float> slope{0.5f, 2.0f, -1.0f, 1.0f, 0.25f, 0.0f};
  std::vector<float> grad{1.0f, 2.0f, 3.0f, 4.0f, 8.0f, 5.0f};
  std::vector<float> bias_grad{10.0f, 0.0f, -1.0f};  // added to, not overwritten
  gelu_slope_backward(slope.data(), grad.data(), bias_grad.data(), 2, 3);
  EXPECT_EQ(grad, (std::vector<float>{0.5f, 4.0f, -3.0f, 4.0f, 2.0f, 0.0f}));
  EXPECT_EQ(bias_grad, (std::vector<float>{14.5f, 6.0f, -4.0f}));
}

struct Mlp {
  torch::Tensor x, w1, b1, w2, b2;
  std::vector<torch::Tensor> all() const { return {x, w1, b1, w2, b2}; }
};

Mlp random_mlp(std::vector<int64_t> x_shape, int64_t hidden, int64_t d_out) {
  const int64_t d_in = x_shape.back();
  return {torch::randn(x_shape), torch::randn({hidden, d_in}) / std::sqrt(double(d_in)),
          torch::randn({hidden}), torch::randn({d_out, hidden}) / std::sqrt(double(hidden)),
          torch::randn({d_out})};
}

Mlp leaves(const Mlp& m, torch::Dtype dtype) {
  auto leaf = [&](const torch::Tensor& t) { return t.to(dtype).detach().requires_grad_(); };
  return {leaf(m.x), leaf(m.w1), leaf(m.b1), leaf(m.w2), leaf(m.b2)};
}

torch::Tensor reference(const Mlp& m) {
  namespace F = torch::nn::functional;
  return F::linear(torch::gelu(F::linear(m.x, m.w1, m.b1)), m.w2, m.b2);
}

void expect_matches_reference(std::vector<int64_t> x_shape, int64_t hidden, int64_t d_out) {
  const auto m = random_mlp(x_shape, hidden, d_out);
  auto out_shape = x_shape;
  out_shape.back() = d_out;
  const auto g = torch::randn(out_shape);
  const auto f = leaves(m, torch::kFloat);
  const auto out = gelu_mlp(f.x, f.w1, f.b1, f.w2, f.b2);
  out.backward(g);
  const auto d = leaves(m, torch::kDouble);
  const auto ref = reference(d);
  ref.backward(g.to(torch::kDouble));
  ASSERT_EQ(out.sizes(), ref.sizes());
  EXPECT_LT((out.to(torch::kDouble) - ref).abs().max().item<double>(), 2e-5);
  const char* names[] = {"x", "w1", "b1", "w2", "b2"};
  for (size_t i = 0; i < 5; ++i) {
    const auto got = f.all()[i].grad().to(torch::kDouble), want = d.all()[i].grad();
    ASSERT_EQ(got.sizes(), want.sizes()) << names[i];
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-5 * (1 + want.abs().max().item<double>()))
        << names[i];
  }
}

TEST(GeluMlp, MatchesTheAtenMlpInValuesAndGradients) {
  torch::manual_seed(3);
  expect_matches_reference({4, 10, 16}, 64, 16);  // 40 rows: one full block and a partial one
  expect_matches_reference({1, 1, 8}, 32, 8);     // one row, as in cached decoding
  expect_matches_reference({70, 12}, 48, 5);      // 2-D input, d_out != d_in
}

TEST(GeluMlp, BiasGradientDoesNotDependOnTheThreadCount) {
  torch::manual_seed(4);
  const auto m = random_mlp({6, 50, 16}, 64, 16);
  const auto g = torch::randn({6, 50, 16});
  auto grads_at = [&](int threads) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    const auto f = leaves(m, torch::kFloat);
    gelu_mlp(f.x, f.w1, f.b1, f.w2, f.b2).backward(g);
    at::set_num_threads(before);
    return f.b1.grad();
  };
  EXPECT_TRUE(torch::equal(grads_at(1), grads_at(2)));
}

TEST(GeluMlp, WithoutGradientsGivesTheSameOutput) {
  torch::manual_seed(5);
  const auto m = random_mlp({3, 7, 8}, 32, 8);
  const auto f = leaves(m, torch::kFloat);  // inputs that require grad, as a model's do
  const auto with = gelu_mlp(f.x, f.w1, f.b1, f.w2, f.b2);
  torch::Tensor without;
  {
    torch::NoGradGuard no_grad;  // the slope is then not computed
    without = gelu_mlp(f.x, f.w1, f.b1, f.w2, f.b2);
  }
  EXPECT_TRUE(with.requires_grad());
  EXPECT_FALSE(without.requires_grad());
  EXPECT_TRUE(torch::equal(with.detach(), without));
}

TEST(GeluMlp, TransposedWeightsAndAStridedInput) {
  torch::manual_seed(6);
  const auto m = random_mlp({5, 9, 12}, 24, 12);
  // The same values in other layouts: weights stored transposed, x a strided view.
  const auto w1_t = m.w1.t().contiguous().t(), w2_t = m.w2.t().contiguous().t();
  const auto x_strided = torch::cat({m.x, m.x}, -1).narrow(-1, 0, 12);
  ASSERT_FALSE(w1_t.is_contiguous());
  ASSERT_FALSE(x_strided.is_contiguous());
  const auto want = gelu_mlp(m.x, m.w1, m.b1, m.w2, m.b2);
  EXPECT_TRUE(torch::allclose(gelu_mlp(x_strided, w1_t, m.b1, w2_t, m.b2), want, 1e-6, 1e-6));
}

TEST(GeluMlp, EmptyInputKeepsTheGraph) {
  const auto f = leaves(random_mlp({0, 4, 8}, 16, 6), torch::kFloat);
  const auto out = gelu_mlp(f.x, f.w1, f.b1, f.w2, f.b2);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{0, 4, 6}));
  out.sum().backward();  // no rows: zero gradients, as through the ATen MLP
  EXPECT_EQ(f.w1.grad().abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(f.b2.grad().sizes(), f.b2.sizes());
}

TEST(GeluMlp, RefusesADoubleBackward) {
  const auto f = leaves(random_mlp({2, 8}, 16, 6), torch::kFloat);
  const auto out = gelu_mlp(f.x, f.w1, f.b1, f.w2, f.b2).pow(2).sum();
  EXPECT_THROW(torch::autograd::grad({out}, {f.x}, {}, true, /*create_graph=*/true), c10::Error);
  EXPECT_NO_THROW(torch::autograd::grad({out}, {f.x}));
}

TEST(GeluMlp, RefusesWhatItCannotRun) {
  const auto m = random_mlp({2, 8}, 16, 6);
  EXPECT_FALSE(gelu_mlp_applies(m.x.to(torch::kDouble), m.w1, m.w2));
  EXPECT_FALSE(gelu_mlp_applies(m.x, m.w1.to(torch::kDouble), m.w2));
  EXPECT_TRUE(gelu_mlp_applies(m.x, m.w1, m.w2));
  EXPECT_THROW(gelu_mlp(torch::randn({2, 9}), m.w1, m.b1, m.w2, m.b2), c10::Error);
  EXPECT_THROW(gelu_mlp(m.x, m.w1, m.b1, torch::randn({6, 15}), m.b2), c10::Error);
  EXPECT_THROW(gelu_mlp(m.x, m.w1, torch::randn({15}), m.w2, m.b2), c10::Error);
  // Biases of the right size but not 1-D.
  EXPECT_THROW(gelu_mlp(m.x, m.w1, m.b1.view({1, 16}), m.w2, m.b2), c10::Error);
  EXPECT_THROW(gelu_mlp(m.x, m.w1, m.b1, m.w2, m.b2.view({6, 1})), c10::Error);
  EXPECT_THROW(gelu_mlp(m.x.to(torch::kDouble), m.w1, m.b1, m.w2, m.b2), c10::Error);
}

}  // namespace
}  // namespace caig::backbone
