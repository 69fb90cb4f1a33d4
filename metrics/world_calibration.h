// The figures that show ShopWorld is calibrated (issue: foundation): base CTR range, spread of
// true CTR between creatives of one product, oracle pairwise accuracy on observed labels of
// rule pairs (the noise ceiling), and the designers' match rate against rho.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"

namespace caig::metrics {

struct CalibrationTargets {
  double base_ctr_lo = 0.01, base_ctr_hi = 0.06;
  double spread_lo = 0.2, spread_hi = 0.4;   // logits, mean sd within product
  double oracle_lo = 0.65, oracle_hi = 0.80;
  double match_rate_sigmas = 3.0;            // |rate - rho| within this many standard errors
};

// One record per pair: the oracle (true CTR) against the observed label.
struct OraclePair {
  std::string product_id;
  bool correct = false;  // true CTR orders the pair as the observed label does
  bool tie = false;      // equal true CTRs (counted as not correct: accuracy is strict)
};

std::vector<OraclePair> oracle_pairs(const data::Dataset& d);

// `world` is the dataset's world.json (for rho, threshold and category base CTRs).
nlohmann::json world_calibration(const data::Dataset& d, const nlohmann::json& world,
                                 uint64_t seed, const CalibrationTargets& targets = {});

}  // namespace caig::metrics
