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

// Labelled rows per slot, [S], on the host.
std::vector<int64_t> labelled_per_slot(const at::Tensor& labels) {
  const auto counts = (labels >= 0).sum(0).to(torch::kCPU, torch::kLong).contiguous();
  return {counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel()};
}
}  // namespace

at::Tensor slot_head_loss(const at::Tensor& logits, const at::Tensor& labels,
                          const std::vector<int64_t>& slot_sizes) {
  check(logits, labels, slot_sizes);
  at::Tensor total = logits.sum() * 0.0;  // keeps the graph when nothing is labelled
  const auto labelled = labelled_per_slot(labels);
  int64_t counted = 0, offset = 0;
  for (size_t s = 0; s < slot_sizes.size(); ++s) {
    const auto y = labels.select(1, static_cast<int64_t>(s)).to(logits.device());
    const auto part = logits.slice(1, offset, offset + slot_sizes[s]);
    offset += slot_sizes[s];
    if (labelled[s] == 0) continue;
    total = total + torch::nn::functional::cross_entropy(
                        part, y, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1));
    ++counted;
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
