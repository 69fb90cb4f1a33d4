// Asking a reward model about evaluation pairs: stored order and, optionally, with left and right
// swapped (position bias), as metrics::PairPrediction rows ready for metrics::evaluate_pairs.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/pairwise.h"
#include "rewards/ad_set.h"
#include "rewards/reward_model.h"

namespace caig::rewards {

// One call per order, over all pairs (the model batches as it likes). A probability outside
// [0, 1], a NaN, or the wrong number of answers is an Error naming the model and the pair.
std::vector<metrics::PairPrediction> predict_pairs(RewardModel& model, const std::string& name,
                                                   const EvalSet& eval, bool both_orders);

// Per-pair records (creative ids, labels, predictions) so tables can be recomputed from them.
std::vector<nlohmann::json> prediction_records(const EvalSet& eval,
                                               const std::vector<metrics::PairPrediction>& preds,
                                               const nlohmann::json& extra);

}  // namespace caig::rewards
