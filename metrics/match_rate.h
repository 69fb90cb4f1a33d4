// The product-background match rate of sampled background descriptions (DESIGN.md, "Metrics"):
// the share that the world's judge accepts, i.e. well formed (every slot parses exactly once) and
// match(category, background) >= threshold. Pretraining reports it for the pretrained prompt
// model, and the optimisation loop per iteration, with the same function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig::metrics {

// One sampled description of a product of `category` (a ShopWorld category name).
struct SampledDescription {
  std::string product_id;
  std::string category;
  std::string text;
};

// The world's judge on one description: {well_formed, matched}. A category the world does not
// know (real data) matches nothing.
struct JudgedDescription {
  bool well_formed = false;
  bool matched = false;  // well formed and match >= threshold
};
JudgedDescription judge_description(const std::string& category, const std::string& text,
                                    double match_threshold);

struct MatchRate {
  int64_t products = 0, samples = 0, well_formed = 0, matched = 0;
  double well_formed_rate = 0, match_rate = 0;  // 0 when there are no samples
  double interval_lo = 0, interval_hi = 1;      // bootstrap over products ([0, 1]: none)
  nlohmann::json to_json() const;  // products, samples, well_formed_rate, match_rate, interval
};

// The rates of `samples`; the 95% interval resamples products (the draws of one product share its
// prompt), `bootstrap` replicates from `seed`, the products in the order they first appear.
MatchRate match_rate(const std::vector<SampledDescription>& samples, double match_threshold,
                     int bootstrap, uint64_t seed);

}  // namespace caig::metrics
