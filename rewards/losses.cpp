#include "rewards/losses.h"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "harness/error.h"

namespace caig::rewards {

at::Tensor smoothed_ctr(const at::Tensor& clicks, const at::Tensor& impressions, double alpha,
                        double beta) {
  const auto c = clicks.to(torch::kFloat);
  const auto n = impressions.to(torch::kFloat);
  return (c + alpha) / (n + alpha + beta);
}

at::Tensor listwise_softmax_loss(const at::Tensor& scores, const at::Tensor& ctr,
                                 const at::Tensor& mask, double temperature) {
  if (scores.dim() != 2 || !scores.sizes().equals(ctr.sizes()))
    fail("listwise loss: scores {} and ctr {} must both be [lists, items]", scores.sizes().vec(),
         ctr.sizes().vec());
  const auto valid =
      mask.defined() ? mask.to(torch::kBool) : torch::ones_like(scores, torch::kBool);
  if ((valid.sum(1) == 0).any().item<bool>()) fail("listwise loss: a list has no valid entry");
  // Masked entries get -inf logits, so they have zero probability on both sides.
  const auto neg_inf = torch::full_like(scores, -std::numeric_limits<float>::infinity());
  const auto target = torch::softmax(torch::where(valid, ctr * temperature, neg_inf), 1);
  const auto logp = torch::log_softmax(torch::where(valid, scores, neg_inf), 1);
  const auto terms = torch::where(valid, target * logp, torch::zeros_like(logp));
  return -terms.sum(1).mean();
}

at::Tensor masked_mse(const at::Tensor& prediction, const at::Tensor& target,
                      const at::Tensor& mask) {
  const auto sq = (prediction - target).pow(2);
  if (!mask.defined()) return sq.mean();
  const auto m = mask.to(sq.dtype());
  return (sq * m).sum() / m.sum().clamp_min(1.0);
}

at::Tensor binomial_nll(const at::Tensor& logits, const at::Tensor& clicks,
                        const at::Tensor& impressions) {
  const auto c = clicks.to(logits.dtype());
  const auto n = impressions.to(logits.dtype());
  // log s = -softplus(-x), log(1 - s) = -softplus(x)
  const auto ll = -c * torch::softplus(-logits) - (n - c) * torch::softplus(logits);
  return -ll.sum() / n.sum().clamp_min(1.0);
}

at::Tensor caig_pair_loss(const at::Tensor& pair_logits, const at::Tensor& labels,
                          const at::Tensor& point_prediction, const at::Tensor& point_target,
                          double point_weight) {
  auto loss = torch::nn::functional::cross_entropy(pair_logits, labels.to(torch::kLong));
  if (point_weight != 0.0)
    loss = loss + point_weight * masked_mse(point_prediction, point_target, {});
  return loss;
}

}  // namespace caig::rewards
