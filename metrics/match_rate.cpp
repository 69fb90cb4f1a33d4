#include "metrics/match_rate.h"

#include <map>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/click_model.h"
#include "datasets/shopworld/grammar.h"
#include "metrics/stats.h"

namespace caig::metrics {

JudgedDescription judge_description(const std::string& category, const std::string& text,
                                    double match_threshold) {
  const int cat = world::category_index(category);
  const auto parsed = world::parse_description(text);
  JudgedDescription j;
  j.well_formed = parsed.well_formed();
  j.matched =
      j.well_formed && cat >= 0 && world::match_score(cat, parsed.background) >= match_threshold;
  return j;
}

nlohmann::json MatchRate::to_json() const {
  return {{"products", products},
          {"samples", samples},
          {"well_formed_rate", well_formed_rate},
          {"match_rate", match_rate},
          {"match_rate_interval", {interval_lo, interval_hi}}};
}

MatchRate match_rate(const std::vector<SampledDescription>& samples, double match_threshold,
                     int bootstrap, uint64_t seed) {
  MatchRate r;
  std::map<std::string, size_t> product_group;
  std::vector<std::pair<double, double>> groups;  // (matched, sampled) per product
  for (const auto& s : samples) {
    const auto j = judge_description(s.category, s.text, match_threshold);
    auto [it, fresh] = product_group.emplace(s.product_id, groups.size());
    if (fresh) groups.emplace_back(0.0, 0.0);
    groups[it->second].first += j.matched;
    groups[it->second].second += 1;
    ++r.samples;
    r.well_formed += j.well_formed;
    r.matched += j.matched;
  }
  r.products = static_cast<int64_t>(groups.size());
  if (r.samples > 0) {
    r.well_formed_rate = static_cast<double>(r.well_formed) / static_cast<double>(r.samples);
    r.match_rate = static_cast<double>(r.matched) / static_cast<double>(r.samples);
  }
  const auto interval = bootstrap_ratio(groups, bootstrap, seed);  // [0, 1] without samples
  r.interval_lo = interval.lo;
  r.interval_hi = interval.hi;
  return r;
}

}  // namespace caig::metrics
