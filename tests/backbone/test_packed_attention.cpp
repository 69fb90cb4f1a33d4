// packed_attention: attention read in place from the packed q|k|v projection, against the same
// attention written out with ATen operators in double precision, in values and gradients.
#include <gtest/gtest.h>

#include <limits>

#include <torch/torch.h>

#include "methods/backbone/packed_attention.h"

namespace caig::backbone {
namespace {

// The formula, head by head: q, k, v are the three d-wide thirds of qkv, each split into heads.
torch::Tensor reference(const torch::Tensor& qkv, int64_t heads, const torch::Tensor& mask) {
  const int64_t B = qkv.size(0), L = qkv.size(1), d = qkv.size(2) / 3, dh = d / heads;
  auto split = [&](int64_t part) {
    return qkv.narrow(2, part * d, d).reshape({B, L, heads, dh}).transpose(1, 2);
  };
  auto scores = torch::matmul(split(0), split(1).transpose(2, 3)) / std::sqrt(double(dh));
  if (mask.defined()) scores = scores + mask;
  return torch::matmul(torch::softmax(scores, -1), split(2)).transpose(1, 2).reshape({B, L, d});
}

void expect_matches_reference(int64_t B, int64_t L, int64_t d, int64_t heads,
                              const torch::Tensor& mask) {
  const auto x0 = torch::randn({B, L, 3 * d});
  auto x = x0.clone().requires_grad_();
  const auto out = packed_attention(x, heads, mask);
  const auto g = torch::randn({B, L, d});
  out.backward(g);
  auto xd = x0.to(torch::kDouble).requires_grad_();
  const auto ref = reference(xd, heads, mask.defined() ? mask.to(torch::kDouble) : mask);
  ref.backward(g.to(torch::kDouble));
  ASSERT_EQ(out.sizes(), ref.sizes());
  EXPECT_LT((out.to(torch::kDouble) - ref).abs().max().item<double>(), 1e-5);
  EXPECT_LT((x.grad().to(torch::kDouble) - xd.grad()).abs().max().item<double>(), 1e-4);
}

torch::Tensor causal(int64_t L) {
  return torch::full({L, L}, -std::numeric_limits<float>::infinity()).triu(1);
}

TEST(PackedAttention, MatchesTheFormulaInValuesAndGradients) {
  if (!packed_attention_applies(torch::zeros({1, 1, 3}))) GTEST_SKIP() << "no CBLAS here";
  torch::manual_seed(5);
  expect_matches_reference(2, 5, 8, 2, {});          // full attention (the vision encoder)
  expect_matches_reference(3, 7, 12, 4, causal(7));  // a causal [L, L] mask
  expect_matches_reference(2, 6, 8, 1, causal(6));   // one head
  expect_matches_reference(2, 1, 8, 2, causal(1));   // one position
  // A per-row key mask [B, 1, L, L]: the second row's last two keys are padding.
  auto mask = causal(6).expand({2, 1, 6, 6}).clone();
  mask[1].narrow(-1, 4, 2).narrow(-2, 4, 2).fill_(0.0);  // pads see one another, not real keys
  mask[1].narrow(-1, 4, 2).narrow(-2, 0, 4).fill_(-std::numeric_limits<float>::infinity());
  expect_matches_reference(2, 6, 8, 2, mask);
}

TEST(PackedAttention, SplitsTheHeadsOverThreads) {
  if (!packed_attention_applies(torch::zeros({1, 1, 3}))) GTEST_SKIP() << "no CBLAS here";
  torch::manual_seed(7);
  at::set_num_threads(2);  // this test's own process (one per test under ctest)
  if (at::get_num_threads() < 2) GTEST_SKIP() << "no parallel backend here";
  expect_matches_reference(5, 9, 16, 4, causal(9));
  at::set_num_threads(1);
}

TEST(PackedAttention, ReadsANonContiguousProjection) {
  if (!packed_attention_applies(torch::zeros({1, 1, 3}))) GTEST_SKIP() << "no CBLAS here";
  torch::manual_seed(6);
  const auto wide0 = torch::randn({2, 5, 30});
  auto wide = wide0.clone().requires_grad_();
  const auto out = packed_attention(wide.narrow(2, 3, 24), 2, causal(5));  // rows 30 apart
  const auto g = torch::randn({2, 5, 8});
  out.backward(g);
  auto wide_d = wide0.to(torch::kDouble).requires_grad_();
  const auto expected = reference(wide_d.narrow(2, 3, 24), 2, causal(5).to(torch::kDouble));
  expected.backward(g.to(torch::kDouble));
  EXPECT_LT((out.to(torch::kDouble) - expected).abs().max().item<double>(), 1e-5);
  EXPECT_LT((wide.grad().to(torch::kDouble) - wide_d.grad()).abs().max().item<double>(), 1e-4);
}

TEST(PackedAttention, SaysWhereItDoesNotApply) {
  EXPECT_FALSE(packed_attention_applies(torch::zeros({1, 2, 6}, torch::kDouble)));
  EXPECT_FALSE(packed_attention_applies(torch::zeros({2, 6})));
  EXPECT_FALSE(packed_attention_applies(torch::zeros({1, 2, 7})));
  EXPECT_THROW(packed_attention(torch::zeros({1, 2, 6}, torch::kDouble), 1, {}), c10::Error);
  if (packed_attention_applies(torch::zeros({1, 2, 6}))) {
    EXPECT_THROW(packed_attention(torch::zeros({1, 2, 12}), 3, {}), c10::Error);  // d 4, 3 heads
    EXPECT_EQ(packed_attention(torch::zeros({2, 0, 12}), 2, {}).sizes(),
              (std::vector<int64_t>{2, 0, 4}));
  }
}

TEST(PackedAttention, RefusesADoubleBackward) {
  if (!packed_attention_applies(torch::zeros({1, 1, 3}))) GTEST_SKIP() << "no CBLAS here";
  const auto x = torch::randn({2, 5, 24}).requires_grad_();
  const auto out = packed_attention(x, 2, torch::Tensor()).pow(2).sum();
  EXPECT_THROW(torch::autograd::grad({out}, {x}, {}, true, /*create_graph=*/true), c10::Error);
  EXPECT_NO_THROW(torch::autograd::grad({out}, {x}));
}

}  // namespace
}  // namespace caig::backbone
