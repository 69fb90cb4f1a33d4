// AdamW with its update fused into one pass over each parameter, for CPU training.
//
// torch::optim::AdamW updates a parameter with about ten ATen operators (each a pass over the
// parameter, the moments or a temporary); on the cpu preset's training step that was several
// milliseconds of the ~90 spent in arithmetic. FusedAdamW computes the same update (decoupled
// weight decay, bias-corrected moments, eps added after the square root) element by element, in
// one vectorised loop split over the intra-op threads (adamw_update.h); it agrees with AdamW to
// float rounding (a few ulp), not bit for bit. It keeps its moments in AdamW's own parameter state,
// so a FusedAdamW saves and loads like an AdamW (the state archives are the same, either can resume
// the other). Parameters it cannot update in place (not CPU float, not contiguous) and amsgrad
// groups take AdamW's own step.
#pragma once

#include <string>
#include <vector>

#include <torch/optim/adamw.h>

namespace caig {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

// Drops the parameters' gradients (instead of filling them with zeros), so that the next
// backward pass hands its gradient over instead of adding it to a zero tensor. A parameter that
// the next backward does not reach then has no gradient, and AdamW leaves it (and its moments)
// unchanged for that step.
void release_gradients(const std::vector<torch::Tensor>& params);

// AdamW's (and FusedAdamW's) state in an archive keyed by each parameter's position (group g,
// index i) instead of by its address, as LibTorch's own archive is: the same state is then the
// same bytes in every process, which a resumed run's checkpoint must be. load_adamw_state also
// reads LibTorch's own archive (torch::save of the optimizer). c10::Error on a corrupt file or
// a state whose shapes do not fit the parameters.
void save_adamw_state(const torch::optim::AdamW& optimizer, const std::string& path);
void load_adamw_state(torch::optim::AdamW& optimizer, const std::string& path);

}  // namespace caig
