// The reward models' training losses and target transforms, as pure functions of tensors so they
// can be unit-tested against hand-computed values (tests/rewards/test_losses.cpp).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace caig::rewards {

// VAM's smoothed CTR: (clicks + alpha) / (impressions + alpha + beta), elementwise. The defaults
// are VAM's Beta prior (Wang et al., WWW 2021), which keeps low-traffic creatives near the prior
// mean.
inline constexpr double kSmoothAlpha = 2.0402;
inline constexpr double kSmoothBeta = 54.0625;
at::Tensor smoothed_ctr(const at::Tensor& clicks, const at::Tensor& impressions,
                        double alpha = kSmoothAlpha, double beta = kSmoothBeta);

// List-wise softmax cross-entropy of VAM and CG4CTR: for each list (row) the target distribution is
// softmax(temperature * ctr) over the list's valid entries and the loss is
// -sum_j target_j * log_softmax(scores)_j, averaged over lists. scores, ctr [B, L]; mask [B, L]
// bool (undefined: all valid); a row needs at least one valid entry.
at::Tensor listwise_softmax_loss(const at::Tensor& scores, const at::Tensor& ctr,
                                 const at::Tensor& mask, double temperature = 1000.0);

// Mean squared error over the valid entries (mask undefined: all).
at::Tensor masked_mse(const at::Tensor& prediction, const at::Tensor& target,
                      const at::Tensor& mask);

// Binomial negative log-likelihood of clicks out of impressions under CTR sigmoid(logit), per
// impression: -sum(clk * log s + (imp - clk) * log(1 - s)) / sum(imp). Numerically stable in the
// logit. Zero-impression entries contribute nothing; all-zero impressions give 0.
at::Tensor binomial_nll(const at::Tensor& logits, const at::Tensor& clicks,
                        const at::Tensor& impressions);

// CAIG's reward-model loss: cross-entropy of the pair logits [B, 2] against labels [B] (0 left
// better, 1 right) plus point_weight * MSE of the point branch [B, 2] against the two ads' CTR
// targets [B, 2].
at::Tensor caig_pair_loss(const at::Tensor& pair_logits, const at::Tensor& labels,
                          const at::Tensor& point_prediction, const at::Tensor& point_target,
                          double point_weight = 0.5);

}  // namespace caig::rewards
