// CAIG's rule for building training pairs from logged creatives (thresholds configurable).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"

namespace caig::data {

struct PairRule {
  int64_t min_impressions = 1000;  // both creatives need strictly more impressions
  double min_ratio = 1.05;         // ctr_hi / ctr_lo within [min_ratio, max_ratio]
  double max_ratio = 1.20;
  bool require_positive_ctr = true;  // both observed CTRs > 0

  // Whether two creatives of one product form a pair under the rule.
  bool admits(const CreativeRecord& a, const CreativeRecord& b) const;
  nlohmann::json to_json() const;
  static PairRule from_json(const nlohmann::json& j);
};

// Every admitted pair among creatives of the same product, in a deterministic order (products by
// first appearance, then creative order). The higher-CTR creative goes left or right by `seed`.
std::vector<PairRecord> build_pairs(const std::vector<CreativeRecord>& creatives,
                                    const PairRule& rule, uint64_t seed);

}  // namespace caig::data
