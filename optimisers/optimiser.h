// Optimiser plugins: what a preference optimiser of the CTR-driven loop asks for and its loss.
// The loop (optimisation/ctr_loop.h) builds the pairs, scores them under the policy (with
// gradients) and the frozen reference (once per pair), builds the perturbed products an optimiser
// asks for, and hands the log-probs to loss(); the losses themselves are the pure functions of
// preference_losses.h.
#pragma once

#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace caig {

// How the loop perturbs the product for the second view of a chosen description.
//   none    no second view
//   mask    the same product with `mask_ratio` of the image patches blacked out
//   other   another product of the batch (its image and text), the same description
//   either  mask or other, a seeded coin per pair (CAIG's paper: "I' or another product")
//   code    CAIG's released code: mask (coin) or another pair's whole sample (product and its
//           chosen description)
struct OptimiserNeeds {
  bool trains = true;     // false: the control arm (the prompt model as it is)
  bool rejected = true;   // reads the rejected description (best_of_n does not)
  bool reference = true;  // reads the reference's log-probs
  std::string perturbation = "none";
  double mask_ratio = 0.75;
};

// Log-probs of one batch of pairs, [B] each (see preference_losses.h). The policy's carry the
// gradient; a tensor the optimiser did not ask for is undefined.
struct PreferenceLogps {
  at::Tensor chosen, rejected;                // policy
  at::Tensor ref_chosen, ref_rejected;        // reference (constants)
  at::Tensor chosen_tokens, rejected_tokens;  // target token counts (float)
  at::Tensor perturbed, ref_perturbed;  // the chosen (or, for `code`, another) description under
                                        // the perturbed product: policy and reference
};

class Optimiser {
 public:
  virtual ~Optimiser() = default;
  virtual OptimiserNeeds needs() const = 0;
  // Per-pair losses [B]; the loop takes their mean over the batch.
  virtual at::Tensor loss(const PreferenceLogps& lp) const = 0;
  // Its resolved parameters, for the results.
  virtual nlohmann::json info() const { return nlohmann::json::object(); }
};

}  // namespace caig
