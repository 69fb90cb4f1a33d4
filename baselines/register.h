// Registration of the baseline reward models (DESIGN.md, "Baseline reward models").
#pragma once

#include <ATen/core/Tensor.h>

namespace caig {
struct Plugins;
}

namespace caig::baselines {

void register_vam(Plugins& p);
void register_cg4ctr(Plugins& p);
void register_classic_ctr(Plugins& p);    // lr, fm, deepfm
void register_fixed_scorers(Plugins& p);  // judge, random, oracle
void register_privileged_slots(Plugins& p);  // slots_lr

inline void register_plugins(Plugins& p) {
  register_vam(p);
  register_cg4ctr(p);
  register_classic_ctr(p);
  register_fixed_scorers(p);
  register_privileged_slots(p);
}

// FM second-order term of factor vectors already multiplied by their inputs, [B, n, k] -> [B]
// (exposed for its unit test).
at::Tensor fm_interaction(const at::Tensor& scaled_factors);

}  // namespace caig::baselines
