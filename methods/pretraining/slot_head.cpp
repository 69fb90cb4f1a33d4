#include "methods/pretraining/slot_head.h"

#include <numeric>

#include <torch/torch.h>

#include "datasets/shopworld/vocabulary.h"
#include "harness/error.h"

namespace caig::pretraining {

std::vector<int64_t> background_slot_sizes() {
  std::vector<int64_t> sizes;
  for (world::Slot s : world::all_slots()) sizes.push_back(world::slot_size(s));
  return sizes;
}

SlotHeadImpl::SlotHeadImpl(int64_t d_model, std::vector<int64_t> slot_sizes)
    : sizes_(std::move(slot_sizes)) {
  if (sizes_.empty()) fail("slot head: no slots");
  for (int64_t k : sizes_)
    if (k < 2) fail("slot head: every slot needs at least 2 values, got {}", k);
  const int64_t total = std::accumulate(sizes_.begin(), sizes_.end(), int64_t{0});
  linear = register_module("linear", torch::nn::Linear(d_model, total));
}

at::Tensor SlotHeadImpl::forward(const at::Tensor& vision_tokens) {
  if (vision_tokens.dim() != 3)
    fail("slot head: expected vision tokens [B, N, d], got {}", c10::str(vision_tokens.sizes()));
  return linear(vision_tokens.mean(1));
}

namespace {
void check(const at::Tensor& logits, const at::Tensor& labels, const std::vector<int64_t>& sizes) {
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  if (logits.dim() != 2 || logits.size(1) != total)
    fail("slot head loss: logits must be [B, {}], got {}", total, c10::str(logits.sizes()));
  if (labels.dim() != 2 || labels.size(0) != logits.size(0) ||
      labels.size(1) != static_cast<int64_t>(sizes.size()))
    fail("slot head loss: labels must be [{}, {}], got {}", logits.size(0), sizes.size(),
         c10::str(labels.sizes()));
  if (labels.scalar_type() != torch::kLong) fail("slot head loss: labels must be int64");
  if (labels.size(0) == 0) return;
  // One host transfer for the whole range check.
  const auto range = torch::stack({std::get<0>(labels.min(0)), std::get<0>(labels.max(0))}).cpu();
  const auto r = range.accessor<int64_t, 2>();
  for (size_t s = 0; s < sizes.size(); ++s)
    if (r[0][static_cast<int64_t>(s)] < -1 || r[1][static_cast<int64_t>(s)] >= sizes[s])
      fail("slot head loss: labels of slot {} must be in -1..{}", s, sizes[s] - 1);
}
}  // namespace

std::vector<int64_t> labelled_per_slot(const at::Tensor& labels) {
  if (labels.dim() != 2) fail("slot labels must be [B, S], got {}", c10::str(labels.sizes()));
  const auto counts = (labels >= 0).sum(0).to(torch::kCPU, torch::kLong).contiguous();
  return {counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel()};
}

at::Tensor slot_head_loss(const at::Tensor& logits, const at::Tensor& labels,
                          const std::vector<int64_t>& slot_sizes,
                          const std::vector<int64_t>* batch_labelled) {
  check(logits, labels, slot_sizes);
  const auto labelled = labelled_per_slot(labels);
  if (batch_labelled != nullptr) {
    if (batch_labelled->size() != slot_sizes.size())
      fail("slot head loss: {} batch label counts for {} slots", batch_labelled->size(),
           slot_sizes.size());
    for (size_t s = 0; s < slot_sizes.size(); ++s)
      if ((*batch_labelled)[s] < labelled[s])
        fail("slot head loss: slot {} has {} labelled rows here but {} in the whole batch", s,
             labelled[s], (*batch_labelled)[s]);
  }
  const auto& denominators = batch_labelled != nullptr ? *batch_labelled : labelled;
  at::Tensor total = logits.sum() * 0.0;  // keeps the graph when nothing is labelled
  int64_t counted = 0, offset = 0;
  for (size_t s = 0; s < slot_sizes.size(); ++s) {
    const auto part = logits.slice(1, offset, offset + slot_sizes[s]);
    offset += slot_sizes[s];
    if (denominators[s] == 0) continue;
    ++counted;
    if (labelled[s] == 0) continue;  // labelled elsewhere in the batch only
    const auto y = labels.select(1, static_cast<int64_t>(s)).to(logits.device());
    // Summed, then divided by the batch's count: a shard's share of the batch's mean.
    total = total + torch::nn::functional::cross_entropy(
                        part, y,
                        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1).reduction(
                            torch::kSum)) /
                        static_cast<double>(denominators[s]);
  }
  return counted > 0 ? total / static_cast<double>(counted) : total;
}

SlotHits slot_head_hits(const at::Tensor& logits, const at::Tensor& labels,
                        const std::vector<int64_t>& slot_sizes) {
  check(logits, labels, slot_sizes);
  SlotHits h;
  h.labelled = labelled_per_slot(labels);
  int64_t offset = 0;
  for (size_t s = 0; s < slot_sizes.size(); ++s) {
    const auto y = labels.select(1, static_cast<int64_t>(s)).to(logits.device());
    const auto pred = logits.slice(1, offset, offset + slot_sizes[s]).argmax(1);
    offset += slot_sizes[s];
    h.correct.push_back(((pred == y) & (y >= 0)).sum().item<int64_t>());
  }
  return h;
}

}  // namespace caig::pretraining
