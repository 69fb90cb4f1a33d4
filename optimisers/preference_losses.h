// The preference-optimisation losses (DESIGN.md, "Preference optimisers"), each a pure function of
// per-sequence log-probabilities: tensors [B], one entry per pair, summed over a sequence's target
// tokens (the description and its <eos>) unless a loss says otherwise. Every loss returns the
// per-pair losses [B]; a caller takes their mean. Policy log-probs carry the gradient; reference
// log-probs (the frozen pretrained prompt model's) are constants.
//
// Notation: c, r the policy's log-probs of the chosen and rejected descriptions; rc, rr the
// reference's; h = (c - rc) - (r - rr), the implicit reward margin.
#pragma once

#include <ATen/core/Tensor.h>

namespace caig::optimisers {

// h = (c - rc) - (r - rr).
at::Tensor preference_margin(const at::Tensor& c, const at::Tensor& r, const at::Tensor& rc,
                             const at::Tensor& rr);

// DPO (Rafailov et al. 2023): -log sigmoid(beta h). CAIG uses beta = 0.5.
at::Tensor dpo_loss(const at::Tensor& margin, double beta);

// IPO (Azar et al. 2024): (h - 1 / (2 tau))^2, the squared distance to a fixed margin.
at::Tensor ipo_loss(const at::Tensor& margin, double tau);

// Hinge / SLiC (Zhao et al. 2023): max(0, 1 - beta h).
at::Tensor hinge_loss(const at::Tensor& margin, double beta);

// Robust DPO (Chowdhury et al. 2024) for labels flipped with probability eps in [0, 0.5):
// ((1 - eps) (-log s(beta h)) - eps (-log s(-beta h))) / (1 - 2 eps); eps = 0 is DPO.
at::Tensor robust_dpo_loss(const at::Tensor& margin, double beta, double eps);

// SimPO (Meng et al. 2024), reference-free and length-normalised:
// -log sigmoid(beta (c / nc - r / nr) - gamma), nc and nr the target token counts.
at::Tensor simpo_loss(const at::Tensor& c, const at::Tensor& r, const at::Tensor& nc,
                      const at::Tensor& nr, double beta, double gamma);

// ORPO (Hong et al. 2024), reference-free: the chosen description's mean token NLL plus
// lambda * -log sigmoid(log odds(y+) - log odds(y-)), where log odds(y) = m - log(1 - exp(m)) with
// m the mean token log-prob. m is capped at -1e-6 so that a sequence of probability 1 gives a
// finite loss.
at::Tensor orpo_loss(const at::Tensor& c, const at::Tensor& r, const at::Tensor& nc,
                     const at::Tensor& nr, double lambda);

// KTO (Ethayarajh et al. 2024) on paired data, the chosen as desirable and the rejected as
// undesirable: (w_d (1 - s(beta ((c - rc) - z))) + w_u (1 - s(beta (z - (r - rr))))) / 2, where
// z = max(0, kl) is the reference point, a constant (the caller's estimate of KL(policy || ref),
// e.g. the mean log-ratio of descriptions scored under mismatched products, as TRL does).
at::Tensor kto_loss(const at::Tensor& c, const at::Tensor& r, const at::Tensor& rc,
                    const at::Tensor& rr, double kl, double beta, double desirable_weight,
                    double undesirable_weight);

// The product-centric term of PCPO (CAIG, section 5) and the conditional term of mDPO (Wang et
// al. 2024): the same chosen description under the real product (c, rc) against under a
// perturbed one (p, rp): -log sigmoid(beta ((c - rc) - (p - rp))).
at::Tensor product_centric_loss(const at::Tensor& c, const at::Tensor& rc, const at::Tensor& p,
                                const at::Tensor& rp, double beta);

// mDPO's anchor: -log sigmoid(beta (c - rc) - delta), which keeps the chosen description's
// likelihood from falling below the reference's.
at::Tensor anchor_loss(const at::Tensor& c, const at::Tensor& rc, double beta, double delta);

// Supervised fine-tuning on the chosen description (rejection sampling / best-of-n): its mean
// token NLL, -c / nc.
at::Tensor sft_loss(const at::Tensor& c, const at::Tensor& nc);

}  // namespace caig::optimisers
