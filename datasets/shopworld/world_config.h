// Every ShopWorld parameter with its default, in one place. The resolved values are written to
// world.json and to each run's config, so a reader can see the whole world a result came from.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/pair_rule.h"

namespace caig::world {

struct WorldConfig {
  // Catalog and logged history.
  int products = 2000;
  int creatives_min = 4;  // designers make 4..8 creatives per product
  int creatives_max = 8;
  int image_size = 64;
  double rho = 0.85;  // designers' probability of a matching background
  double impressions_median = 3000;
  double impressions_log_sd = 0.6;  // log-normal spread of impressions per creative
  double traffic_exponent = 0.5;    // median impressions scale with (share * categories)^exponent
  double designer_habit_sd = 0.8;  // log-normal spread of designers' per-category slot habits

  // Ground-truth click model (DESIGN.md, "Ground-truth click model"); logits.
  double quality_scale = 1.0;     // q_p: rating and brand
  double attention_scale = 1.0;   // A(b): universal attention table
  double preference_sd = 0.10;    // P_c(b): hidden per-category preference, sd per slot value
  double text_scale = 1.0;        // T(p.text, b): price tier x style, audience x palette
  double visibility_scale = 0.008;  // V(x): per CIELab unit of contrast around the mask
  double visibility_reference = 40.0;  // contrast that contributes 0 (about the median ad's)
  double visibility_cap = 0.3;      // |V| <= cap
  double mismatch_penalty = 0.6;    // M
  double noise_sd = 0.05;           // e(p, x)
  double match_threshold = 0.5;     // the judge's threshold on match(p, b)

  // Datasets.
  std::string dataset = "commercial";  // or "public" (images and counts only)
  double train_fraction = 0.8;
  double val_fraction = 0.1;  // the rest is test
  std::vector<std::string> held_out_categories;  // all their products go to test
  data::PairRule pairs;

  nlohmann::json to_json() const;
  // Strict: every key required with the right type (the config layer already checked names).
  static WorldConfig from_json(const nlohmann::json& j);
  void validate() const;  // ranges; Error naming the key
};

}  // namespace caig::world
