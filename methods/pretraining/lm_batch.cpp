#include "methods/pretraining/lm_batch.h"

#include <algorithm>

#include <torch/torch.h>

#include "datasets/shopworld/vocabulary.h"
#include "harness/error.h"
#include "methods/backbone/multimodal_lm.h"
#include "methods/pretraining/image_bank.h"

namespace caig::pretraining {

torch::Tensor slot_labels(const std::vector<int64_t>& rows,
                          const std::vector<world::Background>& backgrounds,
                          const std::vector<bool>& product) {
  const auto& slots = world::all_slots();
  auto labels = torch::full({static_cast<int64_t>(rows.size()), static_cast<int64_t>(slots.size())},
                            -1, torch::kLong);
  auto a = labels.accessor<int64_t, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!product.empty() && product[i]) continue;
    const auto& t = backgrounds[static_cast<size_t>(rows[i])];
    for (size_t s = 0; s < slots.size(); ++s)
      a[static_cast<int64_t>(i)][static_cast<int64_t>(s)] = t.get(slots[s]);
  }
  return labels;
}

namespace {

// The rows' tokens, right-padded, their lengths and target masks.
struct Text {
  torch::Tensor tokens, lengths, mask;
};

Text collate_text(const std::vector<const Example*>& ex, int64_t pad) {
  const auto b = static_cast<int64_t>(ex.size());
  int64_t t = 0;
  for (const auto* e : ex) t = std::max<int64_t>(t, static_cast<int64_t>(e->tokens.size()));
  Text out{torch::full({b, t}, pad, torch::kLong), torch::empty({b}, torch::kLong),
           torch::zeros({b, t}, torch::kBool)};
  auto tok_a = out.tokens.accessor<int64_t, 2>();
  auto len_a = out.lengths.accessor<int64_t, 1>();
  auto mask_a = out.mask.accessor<bool, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const Example& e = *ex[static_cast<size_t>(i)];
    const auto n = static_cast<int64_t>(e.tokens.size());
    for (int64_t j = 0; j < n; ++j) {
      tok_a[i][j] = e.tokens[static_cast<size_t>(j)];
      mask_a[i][j] = j >= e.target_start;
    }
    len_a[i] = n;
  }
  return out;
}

}  // namespace

Batch collate(const std::vector<const Example*>& ex, const ImageBank& bank, int64_t pad,
              const torch::Device& device) {
  const Text text = collate_text(ex, pad);
  std::vector<int64_t> creatives;
  std::vector<bool> product;
  for (const auto* e : ex) {
    creatives.push_back(e->creative);
    product.push_back(e->product_image);
  }
  return {bank.batch(creatives, product).to(device),
          text.tokens.to(device),
          text.lengths.to(device),
          text.mask.to(device),
          creatives,
          product};
}

Batch collate_composites(const std::vector<const Example*>& ex, const ImageBank& bank, int64_t pad,
                         const torch::Device& device) {
  std::vector<int64_t> left, right;
  for (const auto* e : ex) {
    if (e->right < 0)
      fail("collate_composites: the example of creative {} is not a composite", e->creative);
    left.push_back(e->creative);
    right.push_back(e->right);
  }
  const Text text = collate_text(ex, pad);
  Batch out{torch::cat({bank.ads(left), bank.ads(right)}, 3).to(device),
            text.tokens.to(device),
            text.lengths.to(device),
            text.mask.to(device),
            left,
            std::vector<bool>(left.size(), false)};
  out.two_ads = true;
  return out;
}

int64_t target_count(const Batch& b) {
  return b.target_mask.slice(1, 1, b.tokens.size(1)).sum().item<int64_t>();
}

torch::Tensor target_nll_sum(backbone::MultimodalLMImpl& model, const Batch& b,
                             torch::Tensor* vision_tokens, TokenHits* hits) {
  if (b.two_ads && vision_tokens)
    fail("target_nll_sum: a composite batch has no single-ad vision tokens to hand back");
  const auto logits =
      b.two_ads ? model.forward_from_prefix(model.two_ad_prefix(b.images), b.tokens, b.lengths)
                : model.forward(b.images, b.tokens, b.lengths, vision_tokens);
  const int64_t t = b.tokens.size(1);
  const auto pred = logits.slice(1, 0, t - 1);
  const auto next = b.tokens.slice(1, 1, t);
  const auto mask = b.target_mask.slice(1, 1, t);
  const auto logp = torch::log_softmax(pred, -1).gather(2, next.unsqueeze(-1)).squeeze(-1);
  if (hits != nullptr) {
    hits->correct += ((pred.argmax(-1) == next) & mask).sum().item<int64_t>();
    hits->count += mask.sum().item<int64_t>();
  }
  return -(logp * mask.to(logp.dtype())).sum();
}

std::vector<int64_t> background_part(const std::vector<int64_t>& ids, Task task, int64_t divider) {
  if (task != Task::Describe) return ids;
  return {ids.begin(), std::find(ids.begin(), ids.end(), divider)};
}

}  // namespace caig::pretraining
