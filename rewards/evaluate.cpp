#include "rewards/evaluate.h"

#include <cmath>

#include "harness/error.h"

namespace caig::rewards {

namespace {

std::vector<double> ask(RewardModel& model, const std::string& name, const EvalSet& eval,
                        const std::vector<PairIndex>& pairs, const char* order) {
  auto p = model.prob_left(eval.ads, pairs);
  if (p.size() != pairs.size())
    fail("reward model {} answered {} probabilities for {} pairs ({} order)", name, p.size(),
         pairs.size(), order);
  for (size_t i = 0; i < p.size(); ++i)
    if (!(p[i] >= 0.0 && p[i] <= 1.0))
      fail("reward model {} gave P(left better) = {} for pair {} ({} vs {}, {} order)", name, p[i],
           i + 1, eval.left_ids[i], eval.right_ids[i], order);
  return p;
}

}  // namespace

std::vector<metrics::PairPrediction> predict_pairs(RewardModel& model, const std::string& name,
                                                   const EvalSet& eval, bool both_orders) {
  const auto stored = ask(model, name, eval, eval.pairs, "stored");
  std::vector<double> swapped;
  if (both_orders) {
    std::vector<PairIndex> rev;
    for (const auto& p : eval.pairs) rev.push_back({p.right, p.left});
    swapped = ask(model, name, eval, rev, "swapped");
  }
  std::vector<metrics::PairPrediction> out;
  for (size_t i = 0; i < eval.pairs.size(); ++i) {
    metrics::PairPrediction p;
    p.product_id = eval.product_ids[i];
    p.category = eval.categories[i];
    p.label = eval.labels[i];
    p.true_label = eval.true_labels[i];
    p.p_left = stored[i];
    if (both_orders) p.p_left_swapped = swapped[i];
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<nlohmann::json> prediction_records(const EvalSet& eval,
                                               const std::vector<metrics::PairPrediction>& preds,
                                               const nlohmann::json& extra) {
  std::vector<nlohmann::json> rows;
  rows.reserve(preds.size());
  for (size_t i = 0; i < preds.size(); ++i) {
    nlohmann::json r = extra;
    r["product_id"] = preds[i].product_id;
    r["category"] = preds[i].category;
    r["left"] = eval.left_ids[i];
    r["right"] = eval.right_ids[i];
    r["label"] = preds[i].label;
    r["true_label"] = preds[i].true_label;
    r["p_left"] = preds[i].p_left;
    r["p_left_swapped"] = std::isnan(preds[i].p_left_swapped)
                              ? nlohmann::json(nullptr)
                              : nlohmann::json(preds[i].p_left_swapped);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace caig::rewards
