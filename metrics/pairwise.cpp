#include "metrics/pairwise.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "harness/error.h"

namespace caig::metrics {

namespace {

enum class Pick { kLeft, kRight, kTie };

Pick pick(double p, double tie_eps) {
  if (p - 0.5 > tie_eps) return Pick::kLeft;
  if (0.5 - p > tie_eps) return Pick::kRight;
  return Pick::kTie;
}

bool in_unit(double p) { return p >= 0.0 && p <= 1.0; }  // false for NaN

void validate_pairs(const std::vector<PairPrediction>& pairs, const char* what) {
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    if (p.label != 0 && p.label != 1)
      fail("{}: pair {} (product '{}'): label must be 0 or 1, got {}", what, i, p.product_id,
           p.label);
    if (p.true_label < -1 || p.true_label > 2)
      fail("{}: pair {} (product '{}'): true_label must be -1, 0, 1 or 2, got {}", what, i,
           p.product_id, p.true_label);
    if (!in_unit(p.p_left))
      fail("{}: pair {} (product '{}'): p_left must be in [0, 1], got {}", what, i, p.product_id,
           p.p_left);
    if (!std::isnan(p.p_left_swapped) && !in_unit(p.p_left_swapped))
      fail("{}: pair {} (product '{}'): p_left_swapped must be in [0, 1] or NaN, got {}", what, i,
           p.product_id, p.p_left_swapped);
  }
}

void validate_options(const PairwiseOptions& o, const char* what) {
  if (!(o.tie_eps >= 0.0)) fail("{}: tie_eps must be >= 0, got {}", what, o.tie_eps);
  if (o.bootstrap < 1) fail("{}: bootstrap must be >= 1 replicate, got {}", what, o.bootstrap);
  if (!(o.level > 0.0 && o.level < 1.0)) fail("{}: level must be in (0, 1), got {}", what, o.level);
}

// Counts of strict-correct predictions and predictions per product, products in order of first
// appearance (so the bootstrap does not depend on hashing).
class Tally {
 public:
  void add(const std::string& product_id, bool correct, bool tie) {
    auto [it, inserted] = index_.try_emplace(product_id, groups_.size());
    if (inserted) groups_.push_back({0.0, 0.0});
    auto& g = groups_[it->second];
    g.first += correct ? 1.0 : 0.0;
    g.second += 1.0;
    correct_ += correct;
    ties_ += tie;
    n_ += 1;
  }
  // Adds one prediction p of a pair whose better ad is `better` (0 left, 1 right).
  void add_prediction(const std::string& product_id, double p, int better, double tie_eps) {
    const Pick k = pick(p, tie_eps);
    const bool correct = (k == Pick::kLeft && better == 0) || (k == Pick::kRight && better == 1);
    add(product_id, correct, k == Pick::kTie);
  }
  AccuracySummary summary(const PairwiseOptions& o, int64_t excluded) const {
    AccuracySummary s;
    s.pairs = n_;
    s.correct = correct_;
    s.ties = ties_;
    s.excluded = excluded;
    if (n_ > 0) {
      const auto n = static_cast<double>(n_);
      s.accuracy = static_cast<double>(correct_) / n;
      s.accuracy_ties_half = (static_cast<double>(correct_) + 0.5 * static_cast<double>(ties_)) / n;
    }
    // Empty: bootstrap_ratio gives {0, 0, 1}.
    s.ci = bootstrap_ratio(groups_, o.bootstrap, o.seed, o.level);
    s.ci.estimate = s.accuracy;
    return s;
  }
  const std::vector<std::pair<double, double>>& groups() const { return groups_; }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::pair<double, double>> groups_;
  int64_t correct_ = 0, ties_ = 0, n_ = 0;
};

bool usable_true(const PairPrediction& p) { return p.true_label == 0 || p.true_label == 1; }

}  // namespace

nlohmann::json AccuracySummary::to_json() const {
  return {
      {"pairs", pairs},       {"correct", correct},   {"ties", ties},
      {"excluded", excluded}, {"accuracy", accuracy}, {"accuracy_ties_half", accuracy_ties_half},
      {"ci", ci.to_json()},   {"seeds", seeds},       {"seed_sd", seed_sd}};
}

nlohmann::json OrderSummary::to_json() const {
  return {{"both", both.to_json()},
          {"position_bias", position_bias},
          {"consistency", consistency},
          {"evaluated", evaluated}};
}

AccuracySummary observed_accuracy(const std::vector<PairPrediction>& pairs,
                                  const PairwiseOptions& options) {
  validate_options(options, "observed_accuracy");
  validate_pairs(pairs, "observed_accuracy");
  Tally t;
  for (const auto& p : pairs) t.add_prediction(p.product_id, p.p_left, p.label, options.tie_eps);
  return t.summary(options, 0);
}

AccuracySummary true_accuracy(const std::vector<PairPrediction>& pairs,
                              const PairwiseOptions& options) {
  validate_options(options, "true_accuracy");
  validate_pairs(pairs, "true_accuracy");
  Tally t;
  int64_t excluded = 0;
  for (const auto& p : pairs) {
    if (!usable_true(p)) {
      ++excluded;
      continue;
    }
    t.add_prediction(p.product_id, p.p_left, p.true_label, options.tie_eps);
  }
  return t.summary(options, excluded);
}

OrderSummary both_orders(const std::vector<PairPrediction>& pairs, const PairwiseOptions& options) {
  validate_options(options, "both_orders");
  validate_pairs(pairs, "both_orders");
  Tally t;
  OrderSummary out;
  int64_t consistent = 0;
  double bias_sum = 0;
  for (const auto& p : pairs) {
    if (std::isnan(p.p_left_swapped)) continue;
    ++out.evaluated;
    t.add_prediction(p.product_id, p.p_left, p.label, options.tie_eps);
    t.add_prediction(p.product_id, p.p_left_swapped, 1 - p.label, options.tie_eps);
    bias_sum += (p.p_left + p.p_left_swapped) / 2.0 - 0.5;
    const Pick a = pick(p.p_left, options.tie_eps);
    const Pick b = pick(p.p_left_swapped, options.tie_eps);
    consistent +=
        (a == Pick::kLeft && b == Pick::kRight) || (a == Pick::kRight && b == Pick::kLeft);
  }
  out.both = t.summary(options, static_cast<int64_t>(pairs.size()) - out.evaluated);
  if (out.evaluated > 0) {
    const auto n = static_cast<double>(out.evaluated);
    out.position_bias = bias_sum / n;
    out.consistency = static_cast<double>(consistent) / n;
  }
  return out;
}

double pairwise_auc(const std::vector<PairPrediction>& pairs) {
  validate_pairs(pairs, "pairwise_auc");
  const size_t n = pairs.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return pairs[a].p_left < pairs[b].p_left; });
  // Mid-ranks (1-based) of the positives (label 0); equal scores share the mean of their ranks.
  double rank_sum_pos = 0;
  int64_t n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && pairs[order[j]].p_left == pairs[order[i]].p_left) ++j;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (pairs[order[k]].label == 0) {
        rank_sum_pos += mid_rank;
        ++n_pos;
      }
    }
    i = j;
  }
  const int64_t n_neg = static_cast<int64_t>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return 0.5;
  const auto np = static_cast<double>(n_pos);
  const double u = rank_sum_pos - np * (np + 1.0) / 2.0;
  return u / (np * static_cast<double>(n_neg));
}

std::map<std::string, AccuracySummary> accuracy_by_category(
    const std::vector<PairPrediction>& pairs, const PairwiseOptions& options) {
  validate_options(options, "accuracy_by_category");
  validate_pairs(pairs, "accuracy_by_category");
  std::map<std::string, std::vector<PairPrediction>> split;
  for (const auto& p : pairs) split[p.category].push_back(p);
  std::map<std::string, AccuracySummary> out;
  for (const auto& [category, subset] : split) out[category] = observed_accuracy(subset, options);
  return out;
}

nlohmann::json evaluate_pairs(const std::vector<PairPrediction>& pairs,
                              const PairwiseOptions& options) {
  nlohmann::json by_category = nlohmann::json::object();
  for (const auto& [category, s] : accuracy_by_category(pairs, options))
    by_category[category] = s.to_json();
  return {{"observed", observed_accuracy(pairs, options).to_json()},
          {"true", true_accuracy(pairs, options).to_json()},
          {"both_orders", both_orders(pairs, options).to_json()},
          {"auc", pairwise_auc(pairs)},
          {"by_category", by_category}};
}

AccuracySummary pooled_seeds_accuracy(const std::vector<std::vector<PairPrediction>>& per_seed,
                                      const PairwiseOptions& options, bool against_true) {
  validate_options(options, "pooled_seeds_accuracy");
  if (per_seed.empty()) fail("pooled_seeds_accuracy: no seeds");
  const auto& first = per_seed.front();
  for (size_t s = 0; s < per_seed.size(); ++s) {
    const auto& seed = per_seed[s];
    validate_pairs(seed, "pooled_seeds_accuracy");
    if (seed.size() != first.size())
      fail("pooled_seeds_accuracy: seed {} has {} pairs, seed 0 has {}", s, seed.size(),
           first.size());
    for (size_t i = 0; i < seed.size(); ++i) {
      const auto& a = first[i];
      const auto& b = seed[i];
      if (b.product_id != a.product_id)
        fail("pooled_seeds_accuracy: pair {}: seed {} has product '{}', seed 0 has '{}'", i, s,
             b.product_id, a.product_id);
      if (b.label != a.label || b.true_label != a.true_label)
        fail(
            "pooled_seeds_accuracy: pair {} (product '{}'): seed {} has label {} / true_label {}, "
            "seed 0 has {} / {}",
            i, b.product_id, s, b.label, b.true_label, a.label, a.true_label);
    }
  }

  // Per seed, the usual summary; products and usable pairs are the same in every seed, so the
  // per-product denominators are too.
  std::vector<AccuracySummary> seeds;
  std::vector<double> accuracies;
  for (const auto& seed : per_seed) {
    seeds.push_back(against_true ? true_accuracy(seed, options) : observed_accuracy(seed, options));
    accuracies.push_back(seeds.back().accuracy);
  }
  // Pooled groups: per product (sum over seeds of correct, S * usable pairs). A replicate's ratio
  // sum_s rn_s / (S * rd) is exactly the mean over seeds of rn_s / rd, with every seed seeing the
  // same resample of products.
  std::vector<std::pair<double, double>> groups;
  for (const auto& seed : per_seed) {
    Tally t;
    for (const auto& p : seed) {
      if (against_true && !usable_true(p)) continue;
      t.add_prediction(p.product_id, p.p_left, against_true ? p.true_label : p.label,
                       options.tie_eps);
    }
    if (groups.size() < t.groups().size()) groups.resize(t.groups().size(), {0.0, 0.0});
    for (size_t g = 0; g < groups.size(); ++g) {
      groups[g].first += t.groups()[g].first;
      groups[g].second += t.groups()[g].second;
    }
  }

  AccuracySummary out;
  out.seeds = static_cast<int64_t>(per_seed.size());
  for (const auto& s : seeds) {
    out.pairs += s.pairs;
    out.correct += s.correct;
    out.ties += s.ties;
    out.excluded += s.excluded;
  }
  std::vector<double> halves;
  for (const auto& s : seeds) halves.push_back(s.accuracy_ties_half);
  out.accuracy = mean(accuracies);
  out.accuracy_ties_half = mean(halves);
  out.seed_sd = sample_sd(accuracies);
  // With one seed the groups, and so the interval, are those of observed/true_accuracy.
  out.ci = bootstrap_ratio(groups, options.bootstrap, options.seed, options.level);
  out.ci.estimate = out.accuracy;
  return out;
}

}  // namespace caig::metrics
