#include "optimisers/preference_losses.h"

#include <torch/torch.h>

#include "harness/error.h"

namespace caig::optimisers {

namespace {

void check_pair(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (!a.defined() || !b.defined() || a.dim() != 1 || a.sizes() != b.sizes())
    fail("{}: needs two defined [B] tensors of one size", what);
}

// -log sigmoid(x), finite for every finite x (softplus(-x)).
at::Tensor neg_log_sigmoid(const at::Tensor& x) { return torch::nn::functional::softplus(-x); }

}  // namespace

at::Tensor preference_margin(const at::Tensor& c, const at::Tensor& r, const at::Tensor& rc,
                             const at::Tensor& rr) {
  check_pair(c, r, "preference_margin");
  check_pair(rc, rr, "preference_margin (reference)");
  check_pair(c, rc, "preference_margin (policy against reference)");
  return (c - rc) - (r - rr);
}

at::Tensor dpo_loss(const at::Tensor& margin, double beta) {
  if (!(beta > 0)) fail("dpo: beta must be > 0, got {}", beta);
  return neg_log_sigmoid(beta * margin);
}

at::Tensor ipo_loss(const at::Tensor& margin, double tau) {
  if (!(tau > 0)) fail("ipo: tau must be > 0, got {}", tau);
  return (margin - 1.0 / (2.0 * tau)).pow(2);
}

at::Tensor hinge_loss(const at::Tensor& margin, double beta) {
  if (!(beta > 0)) fail("hinge: beta must be > 0, got {}", beta);
  return torch::relu(1.0 - beta * margin);
}

at::Tensor robust_dpo_loss(const at::Tensor& margin, double beta, double eps) {
  if (!(beta > 0)) fail("robust: beta must be > 0, got {}", beta);
  if (!(eps >= 0 && eps < 0.5)) fail("robust: label_smoothing must be in [0, 0.5), got {}", eps);
  return ((1.0 - eps) * neg_log_sigmoid(beta * margin) - eps * neg_log_sigmoid(-beta * margin)) /
         (1.0 - 2.0 * eps);
}

at::Tensor simpo_loss(const at::Tensor& c, const at::Tensor& r, const at::Tensor& nc,
                      const at::Tensor& nr, double beta, double gamma) {
  check_pair(c, r, "simpo");
  check_pair(nc, nr, "simpo (token counts)");
  if (!(beta > 0)) fail("simpo: beta must be > 0, got {}", beta);
  return neg_log_sigmoid(beta * (c / nc.clamp_min(1) - r / nr.clamp_min(1)) - gamma);
}

at::Tensor orpo_loss(const at::Tensor& c, const at::Tensor& r, const at::Tensor& nc,
                     const at::Tensor& nr, double lambda) {
  check_pair(c, r, "orpo");
  check_pair(nc, nr, "orpo (token counts)");
  if (!(lambda >= 0)) fail("orpo: lambda must be >= 0, got {}", lambda);
  const auto mc = (c / nc.clamp_min(1)).clamp_max(-1e-6);
  const auto mr = (r / nr.clamp_min(1)).clamp_max(-1e-6);
  // log(1 - exp(m)) for m < 0, accurate on both sides of -log 2.
  const auto log1mexp = [](const at::Tensor& m) {
    return torch::where(m > -0.6931471805599453, torch::log(-torch::expm1(m)),
                        torch::log1p(-torch::exp(m)));
  };
  const auto log_odds = (mc - log1mexp(mc)) - (mr - log1mexp(mr));
  return -mc + lambda * neg_log_sigmoid(log_odds);
}

at::Tensor kto_loss(const at::Tensor& c, const at::Tensor& r, const at::Tensor& rc,
                    const at::Tensor& rr, double kl, double beta, double desirable_weight,
                    double undesirable_weight) {
  check_pair(c, r, "kto");
  check_pair(rc, rr, "kto (reference)");
  if (!(beta > 0)) fail("kto: beta must be > 0, got {}", beta);
  const double z = std::max(0.0, kl);
  const auto desirable = 1.0 - torch::sigmoid(beta * ((c - rc) - z));
  const auto undesirable = 1.0 - torch::sigmoid(beta * (z - (r - rr)));
  return (desirable_weight * desirable + undesirable_weight * undesirable) / 2.0;
}

at::Tensor product_centric_loss(const at::Tensor& c, const at::Tensor& rc, const at::Tensor& p,
                                const at::Tensor& rp, double beta) {
  check_pair(c, rc, "product-centric term");
  check_pair(p, rp, "product-centric term (perturbed product)");
  check_pair(c, p, "product-centric term (real against perturbed product)");
  if (!(beta > 0)) fail("product-centric term: beta must be > 0, got {}", beta);
  return neg_log_sigmoid(beta * ((c - rc) - (p - rp)));
}

at::Tensor anchor_loss(const at::Tensor& c, const at::Tensor& rc, double beta, double delta) {
  check_pair(c, rc, "anchor term");
  if (!(beta > 0)) fail("anchor term: beta must be > 0, got {}", beta);
  return neg_log_sigmoid(beta * (c - rc) - delta);
}

at::Tensor sft_loss(const at::Tensor& c, const at::Tensor& nc) {
  check_pair(c, nc, "sft");
  return -c / nc.clamp_min(1);
}

}  // namespace caig::optimisers
