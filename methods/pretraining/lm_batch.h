// Batches of the multimodal LM's task examples (tasks.h) and their teacher-forced loss: shared by
// pretraining and by everything else that trains or scores the prompt model on such examples
// (the optimisation loop scores descriptions with the same prompt format and loss).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "methods/pretraining/tasks.h"

namespace caig::backbone {
struct MultimodalLMImpl;
}
namespace caig::world {
struct Background;
}

namespace caig::pretraining {

class ImageBank;

// Examples padded into one batch: the rows' images, tokens [B, T] (pad-filled), lengths [B], and
// the target mask [B, T] (true from each example's target_start on).
struct Batch {
  at::Tensor images, tokens, lengths, target_mask;
  std::vector<int64_t> creatives;
  std::vector<bool> product;  // the row's image is the product cut-out, not the ad
  bool two_ads = false;       // images are side-by-side pairs [B, 3, H, 2W] (composite examples)
};

Batch collate(const std::vector<const Example*>& examples, const ImageBank& bank, int64_t pad,
              const c10::Device& device);

// Composite examples (Example::right set): images are the left and right ads side by side.
Batch collate_composites(const std::vector<const Example*>& examples, const ImageBank& bank,
                         int64_t pad, const c10::Device& device);

// Teacher-forced next-token hits at the target positions, and the target positions.
struct TokenHits {
  int64_t correct = 0, count = 0;
};

// Target positions of a batch: the tokens its loss is a mean over.
int64_t target_count(const Batch& b);

// Next-token cross-entropy summed over the target positions only (a mean is this over
// target_count: a shard divides by its whole batch's), and the token hits where `hits` is given;
// `vision_tokens` receives the encoder's tokens where given.
at::Tensor target_nll_sum(backbone::MultimodalLMImpl& model, const Batch& b,
                          at::Tensor* vision_tokens = nullptr, TokenHits* hits = nullptr);

// Slot labels [B, S] of backgrounds[rows[i]] (a creative's parsed truth, or a synthetic ad's
// background): -1 for unknown slots and for rows whose image is the product cut-out (product[i];
// empty: none is).
at::Tensor slot_labels(const std::vector<int64_t>& rows,
                       const std::vector<world::Background>& backgrounds,
                       const std::vector<bool>& product = {});

// The background part of a generated sequence: before the <title> divider for `describe`.
std::vector<int64_t> background_part(const std::vector<int64_t>& ids, Task task, int64_t divider);

}  // namespace caig::pretraining
