// batched_matmul: the attention's batched product, against at::bmm in values and gradients.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "methods/backbone/batched_matmul.h"

namespace caig::backbone {
namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Values and both gradients of alpha * a @ b, against bmm in double precision.
void expect_matches_bmm(const torch::Tensor& a0, const torch::Tensor& b0, double alpha) {
  auto a = a0.detach().requires_grad_();
  auto b = b0.detach().requires_grad_();
  const auto out = batched_matmul(a, b, alpha);
  const auto g = torch::randn(out.sizes());
  out.backward(g);
  auto ad = a0.detach().to(torch::kDouble).requires_grad_();
  auto bd = b0.detach().to(torch::kDouble).requires_grad_();
  const auto ref = torch::bmm(ad, bd) * alpha;
  ref.backward(g.to(torch::kDouble));
  ASSERT_EQ(out.sizes(), ref.sizes());
  EXPECT_LT(max_abs_diff(out.to(torch::kDouble), ref), 1e-4);
  EXPECT_LT(max_abs_diff(a.grad().to(torch::kDouble), ad.grad()), 1e-4);
  EXPECT_LT(max_abs_diff(b.grad().to(torch::kDouble), bd.grad()), 1e-4);
}

TEST(BatchedMatmul, MatchesBmmInValuesAndGradients) {
  torch::manual_seed(3);
  RecordProperty("cblas", batched_matmul_uses_cblas() ? "yes" : "no");
  expect_matches_bmm(torch::randn({6, 5, 4}), torch::randn({6, 4, 3}), 1.0);
  expect_matches_bmm(torch::randn({6, 5, 4}), torch::randn({6, 4, 3}), 0.125);  // the scale
  // Attention's layouts: keys as a transposed view, queries as a reshaped head split.
  const auto k = torch::randn({6, 7, 4});
  expect_matches_bmm(torch::randn({6, 5, 4}), k.transpose(1, 2), 0.5);
  const auto q = torch::randn({2, 5, 3, 4}).transpose(1, 2).reshape({6, 5, 4});
  expect_matches_bmm(q, torch::randn({6, 4, 7}), 1.0);
  // A transposed left operand and a strided (sliced) right one.
  expect_matches_bmm(torch::randn({6, 4, 5}).transpose(1, 2),
                     torch::randn({6, 4, 9}).slice(2, 0, 9, 2), 1.0);
  // Single rows and columns, as in one decoding step.
  expect_matches_bmm(torch::randn({6, 1, 4}), torch::randn({6, 4, 1}), 1.0);
}

TEST(BatchedMatmul, EmptyShapesAndOtherDtypes) {
  const auto a = torch::randn({3, 2, 0}), b = torch::randn({3, 0, 4});
  const auto out = batched_matmul(a, b);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 2, 4}));
  EXPECT_EQ(out.abs().sum().item<double>(), 0.0);  // an empty sum is zero
  EXPECT_EQ(batched_matmul(torch::randn({0, 2, 3}), torch::randn({0, 3, 4})).numel(), 0);
  // Doubles take at::bmm and agree with it exactly.
  const auto ad = torch::randn({2, 3, 4}, torch::kDouble),
             bd = torch::randn({2, 4, 5}, torch::kDouble);
  EXPECT_TRUE(torch::equal(batched_matmul(ad, bd, 2.0), torch::bmm(ad, bd) * 2.0));
  // Mismatched inner sizes are bmm's error, not a silent read past the end.
  EXPECT_THROW(batched_matmul(torch::randn({2, 3, 4}), torch::randn({2, 5, 2})), c10::Error);
}

}  // namespace
}  // namespace caig::backbone
