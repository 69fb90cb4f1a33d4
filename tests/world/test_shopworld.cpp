#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "datasets/io/shopworld_dir.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/error.h"
#include "harness/progress.h"
#include "metrics/world_calibration.h"

using namespace caig::world;
namespace fs = std::filesystem;

namespace {

WorldConfig smoke() {
  WorldConfig c;
  c.products = 300;  // the smoke preset
  return c;
}

// Generated once: the smoke world is shared by the calibration tests.
const caig::data::Dataset& smoke_history() {
  static const caig::data::Dataset d = [] {
    caig::set_default_progress_mode(caig::ProgressMode::Quiet);
    return ShopWorld(smoke(), 7).generate_history({});
  }();
  return d;
}

}  // namespace

TEST(ShopWorld, CalibratedAtSmokePreset) {
  const auto& d = smoke_history();
  const auto cal = caig::metrics::world_calibration(d, d.world, 1);
  EXPECT_TRUE(cal["base_ctr"]["ok"].get<bool>()) << cal.dump(2);
  const double spread = cal["ctr_spread_logit"]["mean_sd"].get<double>();
  EXPECT_GE(spread, 0.2);
  EXPECT_LE(spread, 0.4);
  const double oracle = cal["oracle_accuracy"]["accuracy"].get<double>();
  EXPECT_GE(cal["oracle_accuracy"]["pairs"].get<int>(), 500);
  EXPECT_GE(oracle, 0.65);
  EXPECT_LE(oracle, 0.80);
  EXPECT_TRUE(cal["designer_match_rate"]["ok"].get<bool>()) << cal["designer_match_rate"].dump();
  EXPECT_TRUE(cal["ok"].get<bool>());
}

TEST(ShopWorld, DesignersFollowRho) {
  for (double rho : {0.5, 1.0}) {
    auto cfg = smoke();
    cfg.products = 150;
    cfg.rho = rho;
    const auto d = ShopWorld(cfg, 3).generate_history({});
    int64_t matched = 0;
    for (const auto& c : d.creatives) matched += *c.match >= cfg.match_threshold;
    const double rate = static_cast<double>(matched) / static_cast<double>(d.creatives.size());
    const double se = std::sqrt(std::max(rho * (1 - rho), 1e-9) / static_cast<double>(d.creatives.size()));
    EXPECT_NEAR(rate, rho, 3 * se + 1e-12) << "rho " << rho;
  }
}

// With (nearly) noise-free counts the observed labels follow the true CTR: the oracle ceiling
// comes from count noise, not from labels detached from the click model.
TEST(ShopWorld, OracleCeilingComesFromCountNoise) {
  auto cfg = smoke();
  cfg.products = 120;
  cfg.impressions_median = 2e7;
  cfg.impressions_log_sd = 0.1;
  const auto d = ShopWorld(cfg, 5).generate_history({});
  const auto pairs = caig::metrics::oracle_pairs(d);
  ASSERT_GT(pairs.size(), 50u);
  int correct = 0;
  for (const auto& p : pairs) correct += p.correct;
  EXPECT_GT(static_cast<double>(correct) / static_cast<double>(pairs.size()), 0.97);
}

TEST(ShopWorld, PairsFollowTheRule) {
  const auto& d = smoke_history();
  std::map<std::string, const caig::data::CreativeRecord*> by_id;
  for (const auto& c : d.creatives) by_id[c.creative_id] = &c;
  int left_wins = 0;
  for (const auto& p : d.pairs) {
    const auto* l = by_id.at(p.left);
    const auto* r = by_id.at(p.right);
    ASSERT_EQ(l->product_id, r->product_id);
    EXPECT_GT(l->impressions, 1000);
    EXPECT_GT(r->impressions, 1000);
    const double hi = std::max(l->observed_ctr(), r->observed_ctr());
    const double lo = std::min(l->observed_ctr(), r->observed_ctr());
    ASSERT_GT(lo, 0);
    EXPECT_GE(hi / lo, 1.05 - 1e-12);
    EXPECT_LE(hi / lo, 1.20 + 1e-12);
    EXPECT_EQ(p.label == 0, l->observed_ctr() > r->observed_ctr());
    left_wins += p.label == 0;
  }
  const double share = static_cast<double>(left_wins) / static_cast<double>(d.pairs.size());
  EXPECT_NEAR(share, 0.5, 0.07);  // the winner's side is random
}

TEST(ShopWorld, SplitsAreByProductAndCoverEveryCategory) {
  auto cfg = smoke();
  cfg.held_out_categories = {"tent"};
  const ShopWorld w(cfg, 7);
  std::map<std::string, std::set<int>> cats_by_split;
  int train = 0;
  for (const auto& p : w.products()) {
    cats_by_split[w.split(p)].insert(p.category);
    train += w.split(p) == "train";
    if (categories()[static_cast<size_t>(p.category)].name == "tent") {
      EXPECT_EQ(w.split(p), "test");
    }
  }
  EXPECT_NEAR(train / 300.0, 0.8, 0.08);
  EXPECT_EQ(cats_by_split["train"].count(category_index("tent")), 0u);
  std::set<int> all;
  for (const auto& p : w.products()) all.insert(p.category);
  EXPECT_EQ(all.size(), 44u);
  // A product's creatives all carry the product's split.
  const auto& d = smoke_history();
  std::map<std::string, std::string> split_of;
  for (const auto& c : d.creatives) {
    auto [it, inserted] = split_of.emplace(c.product_id, c.split);
    EXPECT_EQ(it->second, c.split);
  }
}

TEST(ShopWorld, SameSeedSameHistoryWhateverTheThreads) {
  auto cfg = smoke();
  cfg.products = 60;
  const auto a = ShopWorld(cfg, 9).generate_history({{}, 1});
  const auto b = ShopWorld(cfg, 9).generate_history({{}, 2});
  ASSERT_EQ(a.creatives.size(), b.creatives.size());
  for (size_t i = 0; i < a.creatives.size(); ++i) EXPECT_TRUE(a.creatives[i] == b.creatives[i]);
  EXPECT_EQ(a.pairs, b.pairs);
  EXPECT_EQ(a.world, b.world);
  const auto c = ShopWorld(cfg, 10).generate_history({});
  EXPECT_NE(a.creatives[0].clicks * 1000 + a.creatives[1].clicks,
            c.creatives[0].clicks * 1000 + c.creatives[1].clicks);
}

TEST(ShopWorld, PublicDatasetHasNoText) {
  auto cfg = smoke();
  cfg.products = 20;
  cfg.dataset = "public";
  const auto d = ShopWorld(cfg, 1).generate_history({});
  EXPECT_FALSE(d.has_text);
  for (const auto& c : d.creatives) {
    EXPECT_TRUE(c.title.empty());
    EXPECT_TRUE(c.description.empty());
    EXPECT_TRUE(c.attributes.empty());
    EXPECT_TRUE(c.true_ctr.has_value());
  }
}

TEST(ShopWorld, MakeAdScoresWhatItRenders) {
  const ShopWorld w(smoke(), 7);
  const Product& p = w.products()[0];
  const Ad a = w.make_ad(p, "bright dynamic gym scene, orange tones, geometric shapes", 5);
  const Ad b = w.make_ad(p, "bright dynamic gym scene, orange tones, geometric shapes", 5);
  EXPECT_EQ(a.terms.ctr(), b.terms.ctr());
  EXPECT_TRUE(a.parsed.well_formed());
  EXPECT_EQ(a.rendered.image.rows, 64);
  EXPECT_EQ(a.matched, w.match(p, a.parsed.background) >= 0.5);
  // An ill-formed description is never judged matched, whatever its scene.
  const Ad bad = w.make_ad(p, "gym gym", 5);
  EXPECT_FALSE(bad.matched);
  EXPECT_GT(bad.terms.ctr(), 0.0);
}

TEST(ShopWorld, WrittenDatasetLoadsBackIdentical) {
  auto cfg = smoke();
  cfg.products = 25;
  const ShopWorld w(cfg, 4);
  const fs::path dir = fs::temp_directory_path() / ("caig_world_rt_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  caig::data::DatasetDirWriter writer(dir);
  const auto d = w.generate_history({writer.staging(), 2});
  writer.commit(d);
  const auto back = caig::data::load_dataset_dir(dir);
  ASSERT_EQ(back.creatives.size(), d.creatives.size());
  for (size_t i = 0; i < d.creatives.size(); ++i)
    EXPECT_TRUE(back.creatives[i] == d.creatives[i]) << d.creatives[i].creative_id;
  EXPECT_EQ(back.pairs, d.pairs);
  EXPECT_EQ(back.world, d.world);
  EXPECT_TRUE(fs::exists(dir / d.creatives[0].image));
  EXPECT_TRUE(fs::exists(dir / d.creatives[0].product_image));
  fs::remove_all(dir);
}

TEST(WorldConfig, JsonRoundTripAndRangeErrors) {
  WorldConfig c;
  c.rho = 0.7;
  c.held_out_categories = {"mug"};
  const auto back = WorldConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  auto j = c.to_json();
  j["rho"] = 1.5;
  EXPECT_THROW(WorldConfig::from_json(j), caig::Error);
  j = c.to_json();
  j["held_out_categories"] = {"spaceship"};
  std::string message;
  try {
    WorldConfig::from_json(j);
  } catch (const caig::Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("spaceship"), std::string::npos) << message;
  j = c.to_json();
  j["dataset"] = "private";
  EXPECT_THROW(WorldConfig::from_json(j), caig::Error);
}
