// Evaluating reward models on pairs of ads: strict pairwise accuracy against observed and true
// labels, both left/right orders (position bias, consistency), AUC, per category, and pooling over
// training seeds. Pure, torch-free functions; every confidence interval is a percentile bootstrap
// over products (products resampled with replacement), seeded with PairwiseOptions::seed.
//
// Conventions shared by every function here:
// - A prediction p = P(left better) picks the left ad when p - 0.5 > tie_eps, the right ad when
//   0.5 - p > tie_eps, and is a tie (no preference) when |p - 0.5| <= tie_eps. Strict accuracy
//   counts ties as not correct; accuracy_ties_half counts them as half correct.
// - Empty input (no usable pairs) gives accuracy 0 and ci {estimate 0, lo 0, hi 1}: the same
//   "no information" interval as wilson_interval(0, 0) and bootstrap_ratio({}).
// - Invalid input throws caig::Error naming the pair index and product id: label not 0/1,
//   true_label not in {-1, 0, 1, 2}, p_left NaN or outside [0, 1], p_left_swapped outside [0, 1]
//   (NaN there means "not evaluated in swapped order"); also tie_eps < 0, bootstrap < 1, or level
//   outside (0, 1).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/stats.h"

namespace caig::metrics {

// One evaluated pair: a reward model's P(left better) in the pair's stored order and, where the
// evaluation also ran with left and right swapped, P(left better) of the swapped pair.
struct PairPrediction {
  std::string product_id;
  std::string category;  // may be empty
  int label = 0;         // observed: 0 = left has the higher observed CTR, 1 = right
  int true_label = -1;   // by true CTR: 0 left, 1 right, 2 exact tie, -1 unknown
  double p_left = 0.5;   // P(left better), stored order
  // P(new left better) with the ads swapped (NaN: not evaluated).
  double p_left_swapped = std::numeric_limits<double>::quiet_NaN();
};

// Tie tolerance: |p - 0.5| <= tie_eps counts as a tie (no preference), default 1e-9.
struct PairwiseOptions {
  double tie_eps = 1e-9;
  int bootstrap = 1000;  // bootstrap replicates
  uint64_t seed = 0;     // seeds the bootstrap (the same seed for every summary of one call)
  double level = 0.95;   // two-sided confidence level of the percentile interval
};

struct AccuracySummary {
  int64_t pairs = 0;              // pairs with a usable label
  int64_t correct = 0;            // strict: the model preferred the labelled-better ad
  int64_t ties = 0;               // model predicted a tie (counted as NOT correct in `accuracy`)
  int64_t excluded = 0;           // pairs left out (true label unknown or an exact true tie, ...)
  double accuracy = 0;            // correct / pairs (0 when pairs == 0)
  double accuracy_ties_half = 0;  // (correct + 0.5 * ties) / pairs (0 when pairs == 0)
  // Percentile bootstrap over products of strict accuracy; estimate == accuracy. No usable
  // pairs: {0, 0, 1}. One product: lo == hi == estimate (resampling cannot vary it).
  Interval ci;
  int64_t seeds = 1;   // training seeds pooled (pooled_seeds_accuracy), otherwise 1
  double seed_sd = 0;  // sample sd across seeds of per-seed strict accuracy; 0 for one seed
  // {"pairs","correct","ties","excluded","accuracy","accuracy_ties_half","ci":{...},"seeds",
  //  "seed_sd"}
  nlohmann::json to_json() const;
};

// Strict accuracy against the observed `label`, stored order only. excluded is always 0.
AccuracySummary observed_accuracy(const std::vector<PairPrediction>& pairs,
                                  const PairwiseOptions& options = {});

// Strict accuracy against `true_label`, stored order only; pairs with true_label -1 (unknown) or
// 2 (exact true tie) are not counted in `pairs` but in `excluded`. Products whose pairs are all
// excluded take no part in the bootstrap.
AccuracySummary true_accuracy(const std::vector<PairPrediction>& pairs,
                              const PairwiseOptions& options = {});

struct OrderSummary {
  // Accuracy against the observed labels over both orders: every pair with a swapped evaluation
  // gives two predictions (p_left against label, p_left_swapped against 1 - label), so
  // both.pairs = 2 * evaluated; both.excluded = pairs without a swapped evaluation; the
  // bootstrap resamples products.
  AccuracySummary both;
  // Mean over evaluated pairs of (p_left + p_left_swapped) / 2 - 0.5; positive = prefers the left
  // slot. 0 when evaluated == 0.
  double position_bias = 0;
  // Share of evaluated pairs whose two predictions pick the same ad (p_left > 0.5 and
  // p_left_swapped < 0.5, or the reverse, beyond tie_eps); a tie in either order is
  // inconsistent. 0 when evaluated == 0.
  double consistency = 0;
  int64_t evaluated = 0;  // pairs with p_left_swapped not NaN
  // {"both":{...},"position_bias","consistency","evaluated"}
  nlohmann::json to_json() const;
};

OrderSummary both_orders(const std::vector<PairPrediction>& pairs,
                         const PairwiseOptions& options = {});

// AUC of p_left as a score for the event label == 0 (left better): Mann-Whitney U / (n0 * n1),
// equal scores counting half, computed with mid-ranks in O(n log n). 0.5 when either class is
// empty (including empty input).
double pairwise_auc(const std::vector<PairPrediction>& pairs);

// observed_accuracy per category (observed labels, same options and seed as the whole). Pairs
// with an empty category are kept under key ""; a category with no pairs does not appear.
std::map<std::string, AccuracySummary> accuracy_by_category(
    const std::vector<PairPrediction>& pairs, const PairwiseOptions& options = {});

// The one call the harness makes:
// {"observed": AccuracySummary, "true": AccuracySummary, "both_orders": OrderSummary,
//  "auc": number, "by_category": {category: AccuracySummary, ...}}
nlohmann::json evaluate_pairs(const std::vector<PairPrediction>& pairs,
                              const PairwiseOptions& options = {});

// The same pairs evaluated by models trained with different seeds (per_seed[s][i] is pair i as
// seen by seed s). Every seed must hold the same pairs in the same order: same size, product id,
// label and true_label, else caig::Error; at least one seed. Against the observed labels, or
// against the true labels when against_true (exclusions as in true_accuracy).
// - accuracy: mean over seeds of per-seed strict accuracy; seed_sd: their sample sd; seeds: S.
// - pairs, correct, ties, excluded: summed over seeds (pairs = S * usable pairs), so that
//   accuracy == correct / pairs and accuracy_ties_half is the seed-mean of the per-seed values.
// - ci: percentile bootstrap over products of the seed-mean accuracy; each replicate resamples
//   products once and applies that resample to every seed. With one seed the result equals
//   observed_accuracy / true_accuracy.
AccuracySummary pooled_seeds_accuracy(const std::vector<std::vector<PairPrediction>>& per_seed,
                                      const PairwiseOptions& options, bool against_true);

}  // namespace caig::metrics
