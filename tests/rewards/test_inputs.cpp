// What the reward models read: image features, product fields, and the sets built from a dataset.
#include <cmath>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../support/test_util.h"
#include "harness/error.h"
#include "reward_fixture.h"
#include "rewards/ad_set.h"
#include "rewards/image_features.h"
#include "rewards/product_fields.h"

using namespace caig;
using namespace caig::rewards;

TEST(RewardInputs, ColourfulnessAndContrastByHand) {
  // A grey image: rg = yb = 0 everywhere -> colourfulness 0; constant luminance -> contrast 0.
  const auto grey = torch::full({1, 3, 4, 4}, 0.5);
  EXPECT_NEAR(colourfulness(grey).item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(luminance_contrast(grey).item<double>(), 0.0, 1e-7);
  // Half pure red, half black: rg in {1, 0}, yb in {0.5, 0}: sd 0.5 and 0.25, means 0.5 and 0.25.
  // colourfulness = sqrt(0.25 + 0.0625) + 0.3 * sqrt(0.25 + 0.0625) = 1.3 * sqrt(0.3125).
  // luminance in {0.299, 0}: population sd 0.1495.
  auto img = torch::zeros({1, 3, 2, 2});
  img[0][0][0][0] = 1.0;
  img[0][0][0][1] = 1.0;
  EXPECT_NEAR(colourfulness(img).item<double>(), 1.3 * std::sqrt(0.3125), 1e-6);
  EXPECT_NEAR(luminance_contrast(img).item<double>(), 0.1495, 1e-6);
}

TEST(RewardInputs, ImageFeaturesHaveTheDocumentedLayout) {
  const auto grey = torch::full({2, 3, 32, 32}, 0.5);
  const auto f = image_features(grey);
  ASSERT_EQ(f.size(0), 2);
  ASSERT_EQ(f.size(1), image_feature_dim());
  EXPECT_NEAR(f[0].slice(0, 0, 54).sub(0.5).abs().max().item<double>(), 0.0,
              1e-6);  // cell and ring means
  // Luminance 0.5 falls in histogram bin 4 of 8 (bins are [k/8, (k+1)/8)).
  EXPECT_NEAR(f[0][54 + 4].item<double>(), 1.0, 1e-6);
  EXPECT_THROW(image_features(torch::zeros({1, 1, 8, 8})), Error);
}

TEST(RewardInputs, ProductFieldsMapUnseenAndMissingValuesToUnknown) {
  AdSet train;
  AdInfo a;
  a.category = "shoes";
  a.title = "red leather shoe";
  a.attributes = {{"colour", "red"}, {"rating", 4.46}};
  train.ads = {a};
  ProductFields f;
  f.fit(train);
  EXPECT_EQ(ProductFields::value(a, 6), "4.5");  // ratings bucketed to one decimal

  AdSet test;
  AdInfo b;  // unseen category, no attributes, one known title word
  b.category = "bags";
  b.title = "leather bag";
  test.ads = {a, b};
  const auto ids = f.encode(test, {0, 1});
  // Field 0 (category): offset 0, "shoes" = 1, unknown = 0. Field 1 (colour) starts at 2.
  EXPECT_EQ(ids[0][0].item<int64_t>(), 1);
  EXPECT_EQ(ids[1][0].item<int64_t>(), 0);
  EXPECT_EQ(ids[0][1].item<int64_t>(), 3);
  EXPECT_EQ(ids[1][1].item<int64_t>(), 2);
  const auto bag = f.title_bag(test, {1});
  EXPECT_EQ(bag.sum().item<double>(), 1.0);  // "leather" only
}

TEST(RewardInputs, TrainingAndEvalSetsFollowTheDataset) {
  const auto& d = caig::testing::tiny_world_on_disk();
  const auto train = make_training_set(d, "train", 32);
  std::set<std::string> train_products;
  for (const auto& c : d.creatives)
    if (c.split == "train") train_products.insert(c.product_id);
  EXPECT_EQ(train.products.size(), train_products.size());
  EXPECT_EQ(train.ads.images.size(0), train.ads.size());
  EXPECT_EQ(train.pairs.size(), train.labels.size());
  ASSERT_FALSE(train.pairs.empty());
  for (size_t i = 0; i < train.pairs.size(); ++i) {
    const auto& p = train.pairs[i];
    EXPECT_EQ(train.ads.ads[static_cast<size_t>(p.left)].product_id,
              train.ads.ads[static_cast<size_t>(p.right)].product_id);
    // The label agrees with the observed CTRs of the two ads.
    const double l = static_cast<double>(train.clicks[static_cast<size_t>(p.left)]) /
                     static_cast<double>(train.impressions[static_cast<size_t>(p.left)]);
    const double r = static_cast<double>(train.clicks[static_cast<size_t>(p.right)]) /
                     static_cast<double>(train.impressions[static_cast<size_t>(p.right)]);
    EXPECT_EQ(train.labels[i], l > r ? 0 : 1);
  }
  EXPECT_EQ(train.ads.true_ctr.size(), static_cast<size_t>(train.ads.size()));

  const auto eval = make_eval_set(d, "test", 32);
  EXPECT_FALSE(eval.pairs.empty());
  for (size_t i = 0; i < eval.pairs.size(); ++i) {
    const double l = eval.ads.true_ctr[static_cast<size_t>(eval.pairs[i].left)];
    const double r = eval.ads.true_ctr[static_cast<size_t>(eval.pairs[i].right)];
    EXPECT_EQ(eval.true_labels[i], l > r ? 0 : l < r ? 1 : 2);
  }
}

TEST(RewardInputs, PublicVariantHasNoText) {
  const auto d = without_text(caig::testing::tiny_world_on_disk());
  EXPECT_FALSE(d.has_text);
  for (const auto& c : d.creatives) {
    EXPECT_TRUE(c.title.empty());
    EXPECT_TRUE(c.attributes.empty());
    EXPECT_TRUE(c.description.empty());
  }
  const auto eval = make_eval_set(d, "test", 32);
  EXPECT_FALSE(eval.ads.has_text);
}

TEST(RewardInputs, BadInputIsAnErrorNamingIt) {
  const auto& d = caig::testing::tiny_world_on_disk();
  // Wrong image size: the error names the creative and the expected size.
  const auto msg = caig::testing::error_of([&] { make_eval_set(d, "test", 64); });
  EXPECT_NE(msg.find("creative"), std::string::npos) << msg;
  EXPECT_NE(msg.find("64"), std::string::npos) << msg;
  // A pair naming an unknown creative.
  auto bad = d;
  bad.pairs.front().left = "no-such-creative";
  const auto msg2 = caig::testing::error_of([&] { make_training_set(bad, "train", 32); });
  EXPECT_NE(msg2.find("no-such-creative"), std::string::npos) << msg2;
  // A split with no creatives.
  EXPECT_NE(caig::testing::error_of([&] { make_training_set(d, "nope", 32); }).find("nope"),
            std::string::npos);
}

TEST(RewardInputs, CompositeIsLeftThenRight) {
  auto images = torch::zeros({2, 3, 2, 2}, torch::kUInt8);
  images[1].fill_(255);
  const auto c = composite_images(images, {{1, 0}}, "cpu");
  ASSERT_EQ(c.sizes().vec(), (std::vector<int64_t>{1, 3, 2, 4}));
  EXPECT_EQ(c[0][0][0][0].item<float>(), 1.0f);  // left half: ad 1 (white)
  EXPECT_EQ(c[0][0][0][3].item<float>(), 0.0f);  // right half: ad 0 (black)
}
