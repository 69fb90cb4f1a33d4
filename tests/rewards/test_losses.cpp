// The reward models' losses against values computed by hand from their formulas.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "baselines/register.h"
#include "harness/error.h"
#include "rewards/losses.h"

using namespace caig;
using namespace caig::rewards;

TEST(RewardLosses, SmoothedCtrUsesVamPrior) {
  // (0 + 2.0402) / (0 + 2.0402 + 54.0625) = 2.0402 / 56.1027 = 0.0363655...
  // (30 + 2.0402) / (1000 + 56.1027) = 32.0402 / 1056.1027 = 0.0303380...
  const auto c = smoothed_ctr(torch::tensor({0, 30}), torch::tensor({0, 1000}));
  EXPECT_NEAR(c[0].item<double>(), 2.0402 / 56.1027, 1e-7);
  EXPECT_NEAR(c[1].item<double>(), 32.0402 / 1056.1027, 1e-7);
}

TEST(RewardLosses, ListwiseSoftmaxLossByHand) {
  // One list of two: ctr (0.03, 0.03 + ln(3) / 1000) -> target softmax(1000 c) = (1/4, 3/4).
  // scores (0, ln 3) -> log_softmax = (ln 1/4, ln 3/4).
  // loss = -(1/4 ln 1/4 + 3/4 ln 3/4) = 0.5623351...
  const double l3 = std::log(3.0);
  const auto scores = torch::tensor({0.0, l3}, torch::kDouble).view({1, 2});
  const auto ctr = torch::tensor({0.03, 0.03 + l3 / 1000.0}, torch::kDouble).view({1, 2});
  const double expected = -(0.25 * std::log(0.25) + 0.75 * std::log(0.75));
  EXPECT_NEAR(listwise_softmax_loss(scores, ctr, {}).item<double>(), expected, 1e-9);
  // A masked third entry changes nothing, whatever its score and CTR.
  const auto s3 = torch::tensor({0.0, l3, 50.0}, torch::kDouble).view({1, 3});
  const auto c3 = torch::tensor({0.03, 0.03 + l3 / 1000.0, 0.9}, torch::kDouble).view({1, 3});
  const auto m3 = torch::tensor({true, true, false}).view({1, 3});
  EXPECT_NEAR(listwise_softmax_loss(s3, c3, m3).item<double>(), expected, 1e-9);
  // Ties in CTR: target (1/2, 1/2); equal scores: loss = ln 2.
  const auto tie = torch::zeros({1, 2}, torch::kDouble);
  EXPECT_NEAR(listwise_softmax_loss(tie, tie, {}).item<double>(), std::log(2.0), 1e-12);
}

TEST(RewardLosses, ListwiseRejectsEmptyLists) {
  const auto s = torch::zeros({1, 2});
  const auto m = torch::zeros({1, 2}, torch::kBool);
  EXPECT_THROW(listwise_softmax_loss(s, s, m), Error);
  EXPECT_THROW(listwise_softmax_loss(s, torch::zeros({2, 2}), {}), Error);
}

TEST(RewardLosses, MaskedMse) {
  // ((1 - 0)^2 + (3 - 1)^2) / 2 = 2.5 with the third entry masked out.
  const auto p = torch::tensor({1.0, 3.0, 100.0});
  const auto t = torch::tensor({0.0, 1.0, 0.0});
  EXPECT_NEAR(masked_mse(p, t, torch::tensor({true, true, false})).item<double>(), 2.5, 1e-6);
  EXPECT_NEAR(masked_mse(p.slice(0, 0, 2), t.slice(0, 0, 2), {}).item<double>(), 2.5, 1e-6);
}

TEST(RewardLosses, BinomialNllByHand) {
  // logit 0 -> s = 1/2: every impression costs ln 2, clicked or not: (10 + 30) ln 2 / 40 = ln 2.
  EXPECT_NEAR(binomial_nll(torch::zeros({2}, torch::kDouble), torch::tensor({3, 0}),
                           torch::tensor({10, 30}))
                  .item<double>(),
              std::log(2.0), 1e-12);
  // logit ln(1/9) -> s = 0.1; 2 clicks of 20: -(2 ln 0.1 + 18 ln 0.9) / 20.
  const double x = std::log(1.0 / 9.0);
  const double expected = -(2 * std::log(0.1) + 18 * std::log(0.9)) / 20.0;
  EXPECT_NEAR(
      binomial_nll(torch::tensor({x}, torch::kDouble), torch::tensor({2}), torch::tensor({20}))
          .item<double>(),
      expected, 1e-12);
  // Zero clicks: -(n ln(1 - s)) / n = -ln 0.9. Zero impressions contribute nothing.
  EXPECT_NEAR(binomial_nll(torch::tensor({x, 5.0}, torch::kDouble), torch::tensor({0, 0}),
                           torch::tensor({50, 0}))
                  .item<double>(),
              -std::log(0.9), 1e-12);
  EXPECT_EQ(binomial_nll(torch::zeros({1}), torch::zeros({1}), torch::zeros({1})).item<double>(),
            0.0);
}

TEST(RewardLosses, CaigPairLossIsCePlusHalfMse) {
  // logits (0, ln 3), label 1 (right better): CE = -ln(3/4).
  // point (1, 2) vs target (2, 4): MSE = (1 + 4) / 2 = 2.5; loss = -ln(3/4) + 0.5 * 2.5.
  const auto logits = torch::tensor({0.0, std::log(3.0)}, torch::kDouble).view({1, 2});
  const auto point = torch::tensor({1.0, 2.0}, torch::kDouble).view({1, 2});
  const auto target = torch::tensor({2.0, 4.0}, torch::kDouble).view({1, 2});
  const auto labels = torch::tensor({1});
  EXPECT_NEAR(caig_pair_loss(logits, labels, point, target, 0.5).item<double>(),
              -std::log(0.75) + 1.25, 1e-9);
  EXPECT_NEAR(caig_pair_loss(logits, labels, point, target, 0.0).item<double>(), -std::log(0.75),
              1e-9);
}

TEST(RewardLosses, FmInteractionIsTheSumOfPairwiseDotProducts) {
  // v1 = (1, 2), v2 = (3, 4): 1/2 [(4^2 + 6^2) - (1 + 4 + 9 + 16)] = 1/2 (52 - 30) = 11 = v1 . v2.
  const auto f = torch::tensor({1.0, 2.0, 3.0, 4.0}).view({1, 2, 2});
  EXPECT_NEAR(baselines::fm_interaction(f).item<double>(), 11.0, 1e-6);
  // Three vectors: v1.v2 + v1.v3 + v2.v3 with v3 = (-1, 0): 11 + (-1) + (-3) = 7.
  const auto g = torch::tensor({1.0, 2.0, 3.0, 4.0, -1.0, 0.0}).view({1, 3, 2});
  EXPECT_NEAR(baselines::fm_interaction(g).item<double>(), 7.0, 1e-6);
}
