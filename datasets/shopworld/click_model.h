// ShopWorld's ground-truth click model (DESIGN.md, "Ground-truth click model"):
//   logit CTR = logit(base_c) + q_p + A(b) + P_c(b) + T(p.text, b) + V(x) - M (1 - match) + e.
// Every term is a pure function of its inputs and the world's tables, so tests can check each.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/world_config.h"

namespace caig::world {

struct ClickTerms {
  double base = 0;        // logit(base_c)
  double quality = 0;     // q_p
  double attention = 0;   // A(b)
  double preference = 0;  // P_c(b)
  double text = 0;        // T(p.text, b)
  double visibility = 0;  // V(x)
  double mismatch = 0;    // -M (1 - match), <= 0
  double noise = 0;       // e(p, x)
  double match = 0;       // match(p, b) in [0, 1]
  double contrast = 0;    // the pixel measurement behind V

  double logit() const {
    return base + quality + attention + preference + text + visibility + mismatch + noise;
  }
  double ctr() const;
  nlohmann::json to_json() const;
};

double logit(double p);
double sigmoid(double x);

// Product-background match in [0, 1]: 0.75 * scene affinity + 0.25 * style compatibility of the
// category (catalog tables, no seed); a missing slot contributes 0.
double match_score(int category, const Background& b);

class ClickModel {
 public:
  ClickModel(const WorldConfig& config, uint64_t seed);

  double quality(const Product& p) const;
  double attention(const Background& b) const;
  double preference(int category, const Background& b) const;
  double text(const Product& p, const Background& b) const;
  double visibility(double contrast) const;
  // 0.75 * scene affinity + 0.25 * style compatibility; a missing slot contributes 0.
  double match(int category, const Background& b) const;
  // `noise_key` identifies the ad (product, description, render seed): the same ad always gets
  // the same idiosyncratic noise, which no model can observe.
  ClickTerms terms(const Product& p, const Background& b, double contrast, uint64_t noise_key) const;

  // The hidden per-category preference table [category][slot][value] (for world.json and tests).
  double preference_weight(int category, Slot slot, int value) const;
  nlohmann::json to_json() const;

 private:
  WorldConfig config_;
  uint64_t noise_seed_;
  std::vector<std::array<std::vector<double>, kNumSlots>> preference_;
};

}  // namespace caig::world
