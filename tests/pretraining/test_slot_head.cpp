#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "datasets/shopworld/vocabulary.h"
#include "harness/error.h"
#include "methods/pretraining/slot_head.h"

using namespace caig;
using namespace caig::pretraining;

namespace {
torch::Tensor longs(std::vector<std::vector<int64_t>> rows) {
  auto t = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())},
                        torch::kLong);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) t[i][j] = rows[i][j];
  return t;
}
}  // namespace

TEST(SlotHead, SizesFollowTheWorldsSlots) {
  const auto sizes = background_slot_sizes();
  ASSERT_EQ(sizes.size(), world::all_slots().size());
  EXPECT_EQ(sizes[0], world::slot_size(world::Slot::Scene));
  EXPECT_EQ(sizes[3], world::slot_size(world::Slot::Palette));
}

TEST(SlotHead, UniformLogitsGiveTheMeanOfLogK) {
  const std::vector<int64_t> sizes{2, 3};
  const auto logits = torch::zeros({4, 5});
  const auto labels = longs({{0, 2}, {1, 0}, {1, 1}, {0, 2}});
  const double want = (std::log(2.0) + std::log(3.0)) / 2;
  EXPECT_NEAR(slot_head_loss(logits, labels, sizes).item<double>(), want, 1e-6);
}

TEST(SlotHead, HandComputedCrossEntropy) {
  // One slot of 2 values. Row 0: logits (1, 0), label 0 -> log(1 + e^-1) = 0.313262.
  // Row 1: logits (0, 2), label 0 -> log(1 + e^2) = 2.126928. Mean 1.220095.
  const std::vector<int64_t> sizes{2};
  auto logits = torch::tensor({1.f, 0.f, 0.f, 2.f}).reshape({2, 2});
  const auto labels = longs({{0}, {0}});
  EXPECT_NEAR(slot_head_loss(logits, labels, sizes).item<double>(), 1.220095, 1e-5);
}

TEST(SlotHead, UnlabelledRowsAndSlotsDoNotCount) {
  const std::vector<int64_t> sizes{2, 2};
  // Slot 0: only row 0 labelled; logits (1, 0) label 0 -> 0.313262. Slot 1: nobody labelled, so
  // the loss is slot 0's alone (not halved).
  auto logits = torch::tensor({1.f, 0.f, 5.f, -5.f, 0.f, 9.f, 3.f, 3.f}).reshape({2, 4});
  const auto labels = longs({{0, -1}, {-1, -1}});
  EXPECT_NEAR(slot_head_loss(logits, labels, sizes).item<double>(), 0.313262, 1e-5);

  // Nothing labelled: zero, and backward still works (the gradient is zero).
  auto x = torch::randn({3, 4}, torch::requires_grad());
  const auto none = slot_head_loss(x, longs({{-1, -1}, {-1, -1}, {-1, -1}}), sizes);
  EXPECT_EQ(none.item<double>(), 0.0);
  none.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(SlotHead, HitsCountLabelledRowsOnlyAndTiesGoToTheFirstValue) {
  const std::vector<int64_t> sizes{3, 2};
  auto logits = torch::tensor({0.f, 5.f, 1.f, 2.f, 2.f,   // slot 0 -> 1; slot 1 tie -> 0
                               4.f, 0.f, 0.f, 0.f, 1.f})  // slot 0 -> 0; slot 1 -> 1
                    .reshape({2, 5});
  const auto hits = slot_head_hits(logits, longs({{1, 0}, {2, -1}}), sizes);
  EXPECT_EQ(hits.correct, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(hits.labelled, (std::vector<int64_t>{2, 1}));
}

TEST(SlotHead, ReadsTheMeanOfTheTokens) {
  torch::manual_seed(3);
  SlotHead head(8, std::vector<int64_t>{3, 4});
  const auto tokens = torch::randn({2, 5, 8});
  const auto out = head(tokens);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 7}));
  // Token order does not matter; the mean does.
  const auto reversed = head(tokens.flip(1));
  EXPECT_TRUE(torch::allclose(out, reversed, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out, head->linear(tokens.mean(1)), 1e-5, 1e-6));
}

TEST(SlotHead, BadInputIsAnError) {
  const std::vector<int64_t> sizes{2, 3};
  EXPECT_THROW(slot_head_loss(torch::zeros({2, 4}), longs({{0, 0}, {0, 0}}), sizes), Error);
  EXPECT_THROW(slot_head_loss(torch::zeros({2, 5}), longs({{0}, {0}}), sizes), Error);
  EXPECT_THROW(slot_head_loss(torch::zeros({2, 5}), longs({{2, 0}, {0, 0}}), sizes), Error);
  EXPECT_THROW(slot_head_loss(torch::zeros({2, 5}), longs({{0, -2}, {0, 0}}), sizes), Error);
  EXPECT_THROW(SlotHead(8, std::vector<int64_t>{}), Error);
  EXPECT_THROW(SlotHead(8, std::vector<int64_t>{3, 1}), Error);
}

// A batch split into shards (harness/sharded_backward.h): each shard divides by the whole batch's
// labelled counts, so the shards' losses and gradients add up to the batch's.
TEST(SlotHead, ShardsOfABatchAddUpToTheBatch) {
  const std::vector<int64_t> sizes{2, 2};
  // Row 0: slot 0 (1, 0) label 0 -> 0.313262. Row 1: slot 0 (0, 2) label 0 -> 2.126928.
  // Row 2: slot 1 (0, 0) label 1 -> log 2 = 0.693147. The batch: slot 0 mean 1.220095, slot 1
  // 0.693147, loss 0.956621. Shard A (rows 0-1) has no slot-1 label, but slot 1 still counts:
  // (2.440190 / 2 + 0) / 2 = 0.610048. Shard B (row 2): (0 + 0.693147 / 1) / 2 = 0.346574.
  auto full = torch::tensor({1.f, 0.f, 0.f, 0.f, 0.f, 2.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f})
                  .reshape({3, 4})
                  .requires_grad_();
  const auto labels = longs({{0, -1}, {0, -1}, {-1, 1}});
  const auto batch = labelled_per_slot(labels);
  EXPECT_EQ(batch, (std::vector<int64_t>{2, 1}));
  const auto whole = slot_head_loss(full, labels, sizes);
  EXPECT_NEAR(whole.item<double>(), 0.956621, 1e-5);

  auto a = full.detach().slice(0, 0, 2).clone().requires_grad_();
  auto b = full.detach().slice(0, 2, 3).clone().requires_grad_();
  const auto la = slot_head_loss(a, labels.slice(0, 0, 2), sizes, &batch);
  const auto lb = slot_head_loss(b, labels.slice(0, 2, 3), sizes, &batch);
  EXPECT_NEAR(la.item<double>(), 0.610048, 1e-5);
  EXPECT_NEAR(lb.item<double>(), 0.346574, 1e-5);
  EXPECT_NEAR(la.item<double>() + lb.item<double>(), whole.item<double>(), 1e-6);

  whole.backward();
  la.backward();
  lb.backward();
  EXPECT_TRUE(torch::allclose(torch::cat({a.grad(), b.grad()}), full.grad(), 1e-5, 1e-7));
  // The same counts as its own: the plain loss.
  const auto own = labelled_per_slot(labels);
  EXPECT_NEAR(slot_head_loss(full, labels, sizes, &own).item<double>(), whole.item<double>(), 1e-6);
}

TEST(SlotHead, BatchCountsThatCannotBeTheBatchsAreAnError) {
  const std::vector<int64_t> sizes{2, 2};
  const auto labels = longs({{0, 1}, {1, -1}});
  const std::vector<int64_t> too_few{1, 1}, wrong_size{2};
  EXPECT_THROW(slot_head_loss(torch::zeros({2, 4}), labels, sizes, &too_few), Error);
  EXPECT_THROW(slot_head_loss(torch::zeros({2, 4}), labels, sizes, &wrong_size), Error);
  EXPECT_THROW(labelled_per_slot(torch::zeros({3}, torch::kLong)), Error);
}
