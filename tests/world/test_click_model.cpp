#include <cmath>

#include <gtest/gtest.h>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/click_model.h"

using namespace caig::world;

namespace {
Product running_shoe() {
  Product p;
  p.id = 1;
  p.category = category_index("running shoe");
  p.colour = 0;
  p.material = 12;
  p.audience = 1;    // women
  p.price_tier = 2;  // premium
  p.brand_tier = 2;  // top
  p.rating = 4.8;
  return p;
}
}  // namespace

TEST(Catalog, FortyFourCategoriesWithBaseCtrsInRangeAndSharesSummingToOne) {
  const auto& cats = categories();
  ASSERT_EQ(cats.size(), 44u);
  double total = 0;
  for (const auto& c : cats) {
    EXPECT_GE(c.base_ctr, 0.01) << c.name;
    EXPECT_LE(c.base_ctr, 0.06) << c.name;
    total += c.traffic_share;
    int matching = 0;
    for (double a : c.scene_affinity) matching += a >= 0.7;
    EXPECT_GE(matching, 2) << c.name;
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  const auto common = common_categories();
  EXPECT_EQ(common.size(), 5u);
  EXPECT_EQ(cats[static_cast<size_t>(common[0])].name, "smartphone");
}

TEST(Catalog, TitleIsMadeOfAttributes) {
  auto p = running_shoe();
  EXPECT_EQ(p.title(), "premium red nylon running shoe for women");
  p.price_tier = 1;
  EXPECT_EQ(p.title(), "red nylon running shoe for women");
}

TEST(ClickModel, TermsMatchTheFormulaByHand) {
  WorldConfig cfg;
  ClickModel m(cfg, 11);
  const Product p = running_shoe();
  const Background b{kRunningTrack, kBright, kDynamic, kPink, kNoProps};
  // q_p = 0.3 * (4.8 - 4.3) + 0.12
  EXPECT_NEAR(m.quality(p), 0.3 * 0.5 + 0.12, 1e-12);
  // A = lighting bright 0.10 + style dynamic 0.10 + palette pink 0.04 + prop none -0.05
  EXPECT_NEAR(m.attention(b), 0.10 + 0.10 + 0.04 - 0.05, 1e-12);
  // T = premium x dynamic (-0.03) + women x pink (0.12)
  EXPECT_NEAR(m.text(p, b), -0.03 + 0.12, 1e-12);
  // match = 0.75 * 1.0 (primary scene) + 0.25 * 1.0 (compatible style)
  EXPECT_NEAR(m.match(p.category, b), 1.0, 1e-12);
  // V = 0.008 * (contrast - 40), capped at 0.3
  EXPECT_NEAR(m.visibility(50.0), 0.08, 1e-12);
  EXPECT_NEAR(m.visibility(500.0), 0.3, 1e-12);
  EXPECT_NEAR(m.visibility(0.0), -0.3, 1e-12);
  EXPECT_NEAR(m.visibility(20.0), -0.16, 1e-12);

  const ClickTerms t = m.terms(p, b, 40.0, 99);
  const double pref = m.preference_weight(p.category, Slot::Scene, kRunningTrack) +
                      m.preference_weight(p.category, Slot::Lighting, kBright) +
                      m.preference_weight(p.category, Slot::Style, kDynamic) +
                      m.preference_weight(p.category, Slot::Palette, kPink) +
                      m.preference_weight(p.category, Slot::Prop, kNoProps);
  EXPECT_NEAR(t.preference, pref, 1e-12);
  EXPECT_NEAR(t.base, std::log(0.046 / 0.954), 1e-12);
  EXPECT_NEAR(t.mismatch, 0.0, 1e-12);
  const double expect = t.base + t.quality + t.attention + t.preference + t.text + t.visibility +
                        t.mismatch + t.noise;
  EXPECT_NEAR(t.logit(), expect, 1e-12);
  EXPECT_NEAR(t.ctr(), 1.0 / (1.0 + std::exp(-expect)), 1e-12);
  // The same ad gets the same noise; another ad other noise.
  EXPECT_EQ(m.terms(p, b, 40.0, 99).noise, t.noise);
  EXPECT_NE(m.terms(p, b, 40.0, 100).noise, t.noise);
}

TEST(ClickModel, MismatchPenaltyAndMissingSlots) {
  WorldConfig cfg;
  cfg.mismatch_penalty = 0.6;
  cfg.noise_sd = 0;
  ClickModel m(cfg, 11);
  const Product p = running_shoe();
  // Kitchen counter is unrelated to running shoes (0.05); festive is not a running-shoe style (0.3).
  const Background b{kKitchenCounter, kSoft, kFestive, kWhite, kIce};
  EXPECT_NEAR(m.match(p.category, b), 0.75 * 0.05 + 0.25 * 0.3, 1e-12);
  EXPECT_NEAR(m.terms(p, b, 30, 1).mismatch, -0.6 * (1 - (0.75 * 0.05 + 0.25 * 0.3)), 1e-12);
  // A description with no slots: no attention/preference/text, and the full mismatch penalty.
  const Background empty;
  const auto t = m.terms(p, empty, 30, 1);
  EXPECT_EQ(t.attention, 0);
  EXPECT_EQ(t.preference, 0);
  EXPECT_EQ(t.text, 0);
  EXPECT_NEAR(t.mismatch, -0.6, 1e-12);
  EXPECT_EQ(t.noise, 0);
}

TEST(ClickModel, HiddenPreferencesDependOnSeedAndScale) {
  WorldConfig cfg;
  ClickModel a(cfg, 1), b(cfg, 1), c(cfg, 2);
  EXPECT_EQ(a.preference_weight(3, Slot::Scene, 4), b.preference_weight(3, Slot::Scene, 4));
  EXPECT_NE(a.preference_weight(3, Slot::Scene, 4), c.preference_weight(3, Slot::Scene, 4));
  cfg.preference_sd = 0;
  ClickModel zero(cfg, 1);
  EXPECT_EQ(zero.preference(3, Background{1, 1, 1, 1, 1}), 0.0);
}
