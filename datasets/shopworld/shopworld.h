// ShopWorld: the seeded simulated ad platform with a known ground truth (DESIGN.md, "ShopWorld").
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "datasets/io/records.h"
#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/click_model.h"
#include "datasets/shopworld/grammar.h"
#include "datasets/shopworld/renderer.h"
#include "datasets/shopworld/world_config.h"
#include "harness/seeds.h"

namespace caig::world {

// One rendered ad with everything the world knows about it.
struct Ad {
  std::string description;
  ParsedDescription parsed;
  RenderedAd rendered;
  ClickTerms terms;  // terms.ctr() is the true CTR
  uint64_t render_seed = 0;
  bool matched = false;  // the judge's verdict: well formed and match >= threshold
};

// Identifiers and paths used in datasets ("p12", "p12-c3", "images/p12-c3.png").
std::string product_key(int64_t product_id);
std::string creative_key(int64_t product_id, int index);

class ShopWorld {
 public:
  ShopWorld(WorldConfig config, uint64_t seed);

  const WorldConfig& config() const { return config_; }
  uint64_t seed() const { return seed_; }
  const ClickModel& click_model() const { return click_model_; }
  const std::vector<Product>& products() const { return products_; }
  const Product& product(int64_t id) const { return products_.at(static_cast<size_t>(id)); }
  const std::string& split(const Product& p) const { return splits_.at(static_cast<size_t>(p.id)); }
  RenderOptions render_options() const;

  // The product's RGBA cut-out, drawn from the product's own seed (same product, same pixels).
  cv::Mat product_image(const Product& p) const;

  double match(const Product& p, const Background& b) const;
  bool judge(const Product& p, const ParsedDescription& d) const;

  // Parses, renders and scores one description (what a prompt model's output goes through).
  Ad make_ad(const Product& p, const std::string& description, uint64_t render_seed) const;
  Ad make_ad(const Product& p, const std::string& description, uint64_t render_seed,
             const cv::Mat& product_rgba) const;
  // Scores an ad some renderer drew (the loop's renderer plugin): the click model's terms from
  // its pixels, with the same idiosyncratic noise make_ad gives the same (product, description,
  // render seed).
  Ad score_ad(const Product& p, const std::string& description, uint64_t render_seed,
              RenderedAd rendered) const;

  // The human designers' policy: a matching background with probability rho, other slots from
  // the category's habits.
  Background designer_background(const Product& p, Rng& rng) const;
  int64_t sample_impressions(const Product& p, Rng& rng) const;

  struct HistoryOptions {
    std::filesystem::path image_root;  // write PNGs under it when not empty
    int threads = 0;                   // 0: hardware concurrency
  };
  // The logged history: creatives with impressions and Binomial clicks, pairs by the rule, split
  // by product. Deterministic for (config, seed) whatever the thread count.
  data::Dataset generate_history(const HistoryOptions& options) const;

  // Every parameter, the seed and the derived tables (world.json).
  nlohmann::json to_json() const;

 private:
  data::CreativeRecord record_for(const Product& p, int index, const Ad& ad, int64_t impressions,
                                  int64_t clicks) const;
  WorldConfig config_;
  uint64_t seed_;
  ClickModel click_model_;
  std::vector<Product> products_;
  std::vector<std::string> splits_;
  // Designers' habits per category: a distribution over lighting, palette and prop values.
  struct Habits {
    std::vector<double> lighting, palette, prop;
  };
  std::vector<Habits> habits_;
  // (scene, style) choices that match / do not match, per category, with weights.
  struct Choices {
    std::vector<std::array<int, 2>> matching, mismatching;
    std::vector<double> matching_weight;
  };
  std::vector<Choices> choices_;
};

}  // namespace caig::world
