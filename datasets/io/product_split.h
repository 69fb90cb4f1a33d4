// Splits of a dataset by product: real datasets arrive unsplit, and a product's creatives must
// all fall in one split (a model must not see a product it is tested on).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"

namespace caig::data {

// A dataset whose creatives have no split gets one: its products, in a seeded order, go
// round(f_train * n) to train, round(f_val * n) to val and the rest to test (`fractions`: train,
// val, test; each >= 0, summing to 1). A dataset whose creatives all have a split keeps it. A mix
// of both, or bad fractions, is an Error (`what` names the config key). Returns what was done:
// {"assigned": bool, "fractions": [...] (when assigned), "seed" (when assigned),
//  "products": {"train": n, "val": n, "test": n}, "creatives": {...}}.
nlohmann::json assign_product_splits(Dataset& d, const std::vector<double>& fractions,
                                     uint64_t seed, const std::string& what);

}  // namespace caig::data
