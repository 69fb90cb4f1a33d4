#include "datasets/shopworld/click_model.h"

#include <algorithm>
#include <cmath>

#include "harness/seeds.h"

namespace caig::world {

namespace {

// Universal attention: what draws the eye regardless of product (bright, neon, dynamic,
// saturated). Values in logits before attention_scale.
constexpr double kLightingAttention[kNumLightings] = {0.0, 0.10, 0.03, -0.05, 0.06, 0.12};
constexpr double kStyleAttention[kNumStyles] = {-0.04, 0.04, 0.0, 0.10, 0.06, 0.0, 0.03};
constexpr double kPaletteAttention[kNumPalettes] = {-0.06, -0.02, 0.08, 0.06, 0.05,
                                                     0.0,   0.02,  0.03, 0.04, -0.05};
constexpr double kPropAttention[kNumProps] = {0.02, 0.01, 0.02, 0.03, 0.04, 0.05, -0.05};

// Text-only interactions: price tier x style and audience x palette. Only models that read the
// title and attributes can see these.
constexpr double kPriceStyle[3][kNumStyles] = {
    // minimal luxury natural dynamic festive cozy  tech
    {-0.04, -0.12, 0.0, 0.05, 0.08, 0.03, 0.0},   // budget
    {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0},          // mid
    {0.08, 0.15, 0.02, -0.03, -0.08, 0.0, 0.04},  // premium
};
constexpr double kAudiencePalette[4][kNumPalettes] = {
    // white black  red   orange yellow green  blue  purple pink  beige
    {0.0, 0.10, 0.0, -0.02, -0.03, 0.02, 0.08, -0.04, -0.10, 0.0},   // men
    {0.02, -0.04, 0.03, 0.0, 0.0, 0.0, -0.02, 0.06, 0.12, 0.04},     // women
    {-0.04, -0.10, 0.06, 0.08, 0.10, 0.04, 0.03, 0.02, 0.04, -0.05},  // kids
    {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0},              // unisex
};
constexpr double kBrandQuality[3] = {-0.08, 0.0, 0.12};

}  // namespace

double logit(double p) { return std::log(p / (1.0 - p)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double ClickTerms::ctr() const { return sigmoid(logit()); }

nlohmann::json ClickTerms::to_json() const {
  return {{"base", base},         {"quality", quality},       {"attention", attention},
          {"preference", preference}, {"text", text},         {"visibility", visibility},
          {"mismatch", mismatch}, {"noise", noise},           {"match", match},
          {"contrast", contrast}, {"logit", logit()},         {"ctr", ctr()}};
}

ClickModel::ClickModel(const WorldConfig& config, uint64_t seed)
    : config_(config), noise_seed_(derive_seed(seed, "noise")) {
  Rng rng(derive_seed(seed, "category_preference"));
  preference_.resize(categories().size());
  for (auto& per_slot : preference_)
    for (Slot s : all_slots()) {
      auto& w = per_slot[static_cast<int>(s)];
      w.resize(static_cast<size_t>(slot_size(s)));
      for (double& x : w) x = config_.preference_sd * rng.normal();
    }
}

double ClickModel::quality(const Product& p) const {
  return config_.quality_scale * (0.3 * (p.rating - 4.3) + kBrandQuality[p.brand_tier]);
}

double ClickModel::attention(const Background& b) const {
  double a = 0;
  if (b.lighting >= 0) a += kLightingAttention[b.lighting];
  if (b.style >= 0) a += kStyleAttention[b.style];
  if (b.palette >= 0) a += kPaletteAttention[b.palette];
  if (b.prop >= 0) a += kPropAttention[b.prop];
  return config_.attention_scale * a;
}

double ClickModel::preference(int category, const Background& b) const {
  double s = 0;
  for (Slot slot : all_slots()) {
    const int v = b.get(slot);
    if (v >= 0) s += preference_[category][static_cast<int>(slot)][v];
  }
  return s;
}

double ClickModel::preference_weight(int category, Slot slot, int value) const {
  return preference_.at(category)[static_cast<int>(slot)].at(value);
}

double ClickModel::text(const Product& p, const Background& b) const {
  double t = 0;
  if (b.style >= 0) t += kPriceStyle[p.price_tier][b.style];
  if (b.palette >= 0) t += kAudiencePalette[p.audience][b.palette];
  return config_.text_scale * t;
}

double ClickModel::visibility(double contrast) const {
  const double v = config_.visibility_scale * (contrast - config_.visibility_reference);
  return std::clamp(v, -config_.visibility_cap, config_.visibility_cap);
}

double match_score(int category, const Background& b) {
  const Category& c = categories().at(static_cast<size_t>(category));
  const double scene = b.scene >= 0 ? c.scene_affinity[static_cast<size_t>(b.scene)] : 0.0;
  const double style = b.style >= 0 ? c.style_compat[static_cast<size_t>(b.style)] : 0.0;
  return 0.75 * scene + 0.25 * style;
}

double ClickModel::match(int category, const Background& b) const { return match_score(category, b); }

ClickTerms ClickModel::terms(const Product& p, const Background& b, double contrast,
                             uint64_t noise_key) const {
  ClickTerms t;
  t.base = logit(categories().at(p.category).base_ctr);
  t.quality = quality(p);
  t.attention = attention(b);
  t.preference = preference(p.category, b);
  t.text = text(p, b);
  t.contrast = contrast;
  t.visibility = visibility(contrast);
  t.match = match(p.category, b);
  t.mismatch = -config_.mismatch_penalty * (1.0 - t.match);
  Rng rng(derive_seed(noise_seed_, noise_key));
  t.noise = config_.noise_sd * rng.normal();
  return t;
}

nlohmann::json ClickModel::to_json() const {
  nlohmann::json j;
  auto row = [](const double* v, int n) { return std::vector<double>(v, v + n); };
  j["attention"] = {{"lighting", row(kLightingAttention, kNumLightings)},
                    {"style", row(kStyleAttention, kNumStyles)},
                    {"palette", row(kPaletteAttention, kNumPalettes)},
                    {"prop", row(kPropAttention, kNumProps)}};
  nlohmann::json ps = nlohmann::json::array(), ap = nlohmann::json::array();
  for (const auto& r : kPriceStyle) ps.push_back(row(r, kNumStyles));
  for (const auto& r : kAudiencePalette) ap.push_back(row(r, kNumPalettes));
  j["text"] = {{"price_tier_x_style", ps}, {"audience_x_palette", ap}};
  j["brand_quality"] = row(kBrandQuality, 3);
  j["quality"] = "quality_scale * (0.3 * (rating - 4.3) + brand_quality[brand_tier])";
  j["match"] = "0.75 * scene_affinity[category][scene] + 0.25 * style_compat[category][style]";
  nlohmann::json pref = nlohmann::json::array();
  for (const auto& per_slot : preference_) {
    nlohmann::json c;
    for (Slot s : all_slots()) c[std::string(slot_name(s))] = per_slot[static_cast<int>(s)];
    pref.push_back(c);
  }
  j["category_preference"] = pref;
  return j;
}

}  // namespace caig::world
