// Auxiliary slot classifier for pretraining's image understanding.
//
// The paper's MLLM starts from a pretrained vision encoder; ours starts from scratch, and through
// the LM loss alone the scene, the slot whose evidence is a thin ring of background around the
// product, is the last thing the encoder learns (one target token in a dozen, and the LM can
// lean on the title's category prior meanwhile). This head reads the mean of the vision encoder's
// tokens and classifies every background slot of the ad, so the encoder gets a dense signal from
// the same descriptions the image-understanding task already trains on. It is a training-only
// module: the backbone checkpoint does not need it, the trainer saves it for an exact resume.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace caig::pretraining {

// Number of values of each background slot, in world::all_slots() order.
std::vector<int64_t> background_slot_sizes();

struct SlotHeadImpl : torch::nn::Module {
  SlotHeadImpl(int64_t d_model, std::vector<int64_t> slot_sizes);
  // vision tokens [B, N, d] -> concatenated logits of every slot [B, sum(slot_sizes)]
  at::Tensor forward(const at::Tensor& vision_tokens);
  const std::vector<int64_t>& slot_sizes() const { return sizes_; }
  torch::nn::Linear linear{nullptr};

 private:
  std::vector<int64_t> sizes_;
};
TORCH_MODULE(SlotHead);

// Mean over slots of the cross-entropy of each slot's logits (a slice of `logits` [B, sum(sizes)])
// against labels [B, S] int64, averaged over the rows that have the slot labelled (>= 0; -1 marks
// an unknown slot or a row without an ad image). Slots with no labelled row do not count; with no
// label at all the loss is 0 (still connected to `logits`, so backward works).
//
// For a shard of a batch (harness/sharded_backward.h), `batch_labelled` gives the labelled rows
// per slot of the whole batch (labelled_per_slot of all its labels): each slot's cross-entropy is
// then summed over this shard's rows and divided by the batch's count, and the slots that count
// are those labelled anywhere in the batch, so the shards' losses add up to the batch's.
at::Tensor slot_head_loss(const at::Tensor& logits, const at::Tensor& labels,
                          const std::vector<int64_t>& slot_sizes,
                          const std::vector<int64_t>* batch_labelled = nullptr);

// Rows with each slot labelled (>= 0) in labels [B, S], on the host.
std::vector<int64_t> labelled_per_slot(const at::Tensor& labels);

// Per slot: labelled rows whose argmax is the label, and labelled rows ([S] each).
struct SlotHits {
  std::vector<int64_t> correct, labelled;
};
SlotHits slot_head_hits(const at::Tensor& logits, const at::Tensor& labels,
                        const std::vector<int64_t>& slot_sizes);

}  // namespace caig::pretraining
