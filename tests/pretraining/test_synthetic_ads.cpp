#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "datasets/renderer_plugin.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/error.h"
#include "harness/image_tensor.h"
#include "harness/progress.h"
#include "methods/pretraining/pretrainer.h"
#include "methods/pretraining/synthetic_ads.h"
#include "tests/support/test_util.h"

using namespace caig;
using namespace caig::pretraining;
namespace fs = std::filesystem;

namespace {

// A world with its PNGs on disk (the synthetic ads read the products' RGBA cut-outs).
const data::Dataset& world_on_disk() {
  static const data::Dataset d = [] {
    set_default_progress_mode(ProgressMode::Quiet);
    world::WorldConfig cfg;
    cfg.products = 30;
    const auto root = caig::testing::process_temp_dir() / "world";
    fs::remove_all(root);
    auto out = world::ShopWorld(cfg, 5).generate_history({root, 1});
    out.root = root;
    return out;
  }();
  return d;
}

// The procedural renderer, as the `procedural` plugin calls it.
class WorldRenderer : public Renderer {
 public:
  explicit WorldRenderer(int size = 64) { options_.image_size = size; }
  world::RenderedAd render(const cv::Mat& product_rgba, const std::string& description,
                           uint64_t seed) override {
    ++calls;
    return world::render_ad(product_rgba, world::parse_description(description).background, seed,
                            options_);
  }
  int calls = 0;

 private:
  world::RenderOptions options_;
};

}  // namespace

TEST(SyntheticAds, UniformBackgroundsAreCompleteAndCoverEveryValue) {
  Rng rng(11);
  std::vector<std::set<int>> seen(world::kNumSlots);
  for (int i = 0; i < 2000; ++i) {
    const auto b = uniform_background(rng);
    ASSERT_TRUE(b.complete());
    for (world::Slot s : world::all_slots()) seen[static_cast<size_t>(s)].insert(b.get(s));
  }
  for (world::Slot s : world::all_slots())
    EXPECT_EQ(static_cast<int>(seen[static_cast<size_t>(s)].size()), world::slot_size(s))
        << world::slot_name(s);
}

TEST(SyntheticAds, EachAdIsTheRendererOutputOfATrainingProduct) {
  const auto& d = world_on_disk();
  std::set<std::string> train_products, other_products;
  for (const auto& c : d.creatives)
    (c.split == "train" ? train_products : other_products).insert(c.product_image);
  WorldRenderer renderer;
  const auto ads = render_synthetic_ads(d, "train", renderer, 40, 64, 99);
  ASSERT_EQ(ads.size(), 40);
  EXPECT_EQ(renderer.calls, 40);
  EXPECT_EQ(ads.products, static_cast<int64_t>(train_products.size()));
  EXPECT_EQ(ads.images.sizes(), (std::vector<int64_t>{40, 3, 64, 64}));
  EXPECT_EQ(ads.images.scalar_type(), torch::kUInt8);
  std::set<std::string> used;
  for (int64_t i = 0; i < ads.size(); ++i) {
    const auto k = static_cast<size_t>(i);
    const auto& path = ads.product_images[k];
    EXPECT_TRUE(train_products.count(path)) << path;
    EXPECT_FALSE(other_products.count(path)) << path;
    used.insert(path);
    // Re-rendering the recorded product, background and seed gives the same pixels.
    const cv::Mat rgba = cv::imread((d.root / path).string(), cv::IMREAD_UNCHANGED);
    const auto again =
        world::render_ad(rgba, ads.backgrounds[k], ads.render_seeds[k], world::RenderOptions{});
    EXPECT_TRUE(torch::equal(ads.images[i], bgr_image_tensor(again.image))) << i;
  }
  EXPECT_GT(used.size(), 10u);  // drawn across products, not one
  // batch() gives floats in [0, 1] of the chosen rows.
  const auto b = ads.batch({3, 0});
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  EXPECT_TRUE(torch::allclose(b[0] * 255.0, ads.images[3].to(torch::kFloat32)));
  EXPECT_GE(b.min().item<float>(), 0.0f);
  EXPECT_LE(b.max().item<float>(), 1.0f);
}

TEST(SyntheticAds, APureFunctionOfTheSeed) {
  const auto& d = world_on_disk();
  WorldRenderer r1, r2, r3;
  const auto a = render_synthetic_ads(d, "train", r1, 12, 64, 7);
  const auto b = render_synthetic_ads(d, "train", r2, 12, 64, 7);
  const auto c = render_synthetic_ads(d, "train", r3, 12, 64, 8);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_EQ(a.render_seeds, b.render_seeds);
  EXPECT_FALSE(torch::equal(a.images, c.images));
  // A longer set starts with the shorter one (ad i depends on (seed, i) only).
  WorldRenderer r4;
  const auto longer = render_synthetic_ads(d, "train", r4, 20, 64, 7);
  EXPECT_TRUE(torch::equal(longer.images.slice(0, 0, 12), a.images));
}

TEST(SyntheticAds, BadInputIsAnError) {
  using caig::testing::error_of;
  const auto& d = world_on_disk();
  WorldRenderer renderer;
  EXPECT_NE(error_of([&] {
              render_synthetic_ads(d, "nope", renderer, 4, 64, 1);
            }).find("no product cut-outs (product_image) in split 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              render_synthetic_ads(d, "train", renderer, -1, 64, 1);
            }).find("count must be >= 0"),
            std::string::npos);
  EXPECT_EQ(render_synthetic_ads(d, "nope", renderer, 0, 64, 1).size(), 0);  // nothing asked

  WorldRenderer wrong_size(32);
  const auto size_error = error_of([&] { render_synthetic_ads(d, "train", wrong_size, 2, 64, 1); });
  EXPECT_NE(size_error.find("returned a 32x32 image"), std::string::npos) << size_error;
  EXPECT_NE(size_error.find("expected 64x64"), std::string::npos) << size_error;

  // A corrupt cut-out is named.
  data::Dataset broken = d;
  const auto root = caig::testing::process_temp_dir() / "bad_world";
  fs::create_directories(root / "products");
  for (auto& c : broken.creatives) c.product_image = "products/bad.png";
  std::ofstream(root / "products" / "bad.png") << "not a png";
  broken.root = root;
  const auto corrupt = error_of([&] { render_synthetic_ads(broken, "train", renderer, 2, 64, 1); });
  EXPECT_NE(corrupt.find("cannot decode product cut-out"), std::string::npos) << corrupt;
  EXPECT_NE(corrupt.find("bad.png"), std::string::npos) << corrupt;
  // An RGB image has no mask.
  cv::imwrite((root / "products" / "rgb.png").string(),
              cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  for (auto& c : broken.creatives) c.product_image = "products/rgb.png";
  EXPECT_NE(error_of([&] {
              render_synthetic_ads(broken, "train", renderer, 2, 64, 1);
            }).find("not 8-bit RGBA"),
            std::string::npos);
  fs::remove_all(root);
}

TEST(SyntheticAds, ConfigNeedsTheSlotHeadsExtraAds) {
  using caig::testing::error_of;
  auto j = PretrainOptions{}.to_json();
  j["synthetic_ads"] = 100;
  j["slot_head_ads"] = 0;
  EXPECT_NE(error_of([&] { PretrainOptions::from_json(j); }).find("needs slot_head_weight > 0"),
            std::string::npos);
  j["slot_head_ads"] = 8;
  EXPECT_EQ(PretrainOptions::from_json(j).synthetic_ads, 100);
  j["synthetic_ads"] = -1;
  EXPECT_NE(error_of([&] { PretrainOptions::from_json(j); }).find("synthetic_ads must be >= 0"),
            std::string::npos);
}
