#include "metrics/world_calibration.h"

#include <cmath>
#include <map>
#include <unordered_map>

#include "harness/error.h"
#include "metrics/stats.h"

namespace caig::metrics {

namespace {
double logit(double p) { return std::log(p / (1.0 - p)); }
}  // namespace

std::vector<OraclePair> oracle_pairs(const data::Dataset& d) {
  std::unordered_map<std::string, const data::CreativeRecord*> by_id;
  for (const auto& c : d.creatives) by_id[c.creative_id] = &c;
  std::vector<OraclePair> out;
  for (const auto& p : d.pairs) {
    const auto* l = by_id.at(p.left);
    const auto* r = by_id.at(p.right);
    if (!l->true_ctr || !r->true_ctr)
      fail("oracle accuracy needs true CTRs; creative {} or {} has none", p.left, p.right);
    OraclePair o;
    o.product_id = p.product_id;
    o.tie = *l->true_ctr == *r->true_ctr;
    const bool oracle_left = *l->true_ctr > *r->true_ctr;
    o.correct = !o.tie && oracle_left == (p.label == 0);
    out.push_back(o);
  }
  return out;
}

nlohmann::json world_calibration(const data::Dataset& d, const nlohmann::json& world, uint64_t seed,
                                 const CalibrationTargets& t) {
  nlohmann::json out;
  const auto& cfg = world.at("config");
  const double rho = cfg.at("rho").get<double>();
  const double threshold = cfg.at("match_threshold").get<double>();

  // Base CTRs of the categories.
  double lo = 1, hi = 0;
  for (const auto& c : world.at("categories")) {
    lo = std::min(lo, c.at("base_ctr").get<double>());
    hi = std::max(hi, c.at("base_ctr").get<double>());
  }
  out["base_ctr"] = {{"min", lo}, {"max", hi}, {"target", {t.base_ctr_lo, t.base_ctr_hi}},
                     {"ok", lo >= t.base_ctr_lo && hi <= t.base_ctr_hi}};

  // Spread of true CTR (logits) between creatives of one product.
  std::map<std::string, std::vector<double>> logits;
  int64_t matched = 0;
  std::vector<double> observed, true_ctr, impressions;
  for (const auto& c : d.creatives) {
    if (!c.true_ctr || !c.match) fail("calibration needs simulated data (creative {})", c.creative_id);
    logits[c.product_id].push_back(logit(*c.true_ctr));
    matched += *c.match >= threshold;
    observed.push_back(c.observed_ctr());
    true_ctr.push_back(*c.true_ctr);
    impressions.push_back(static_cast<double>(c.impressions));
  }
  std::vector<double> sds;
  for (const auto& [pid, v] : logits)
    if (v.size() >= 2) sds.push_back(sample_sd(v));
  const double spread = mean(sds);
  out["ctr_spread_logit"] = {{"mean_sd", spread},
                             {"median_sd", sds.empty() ? 0.0 : quantile(sds, 0.5)},
                             {"products", sds.size()},
                             {"target", {t.spread_lo, t.spread_hi}},
                             {"ok", spread >= t.spread_lo && spread <= t.spread_hi}};

  // Oracle accuracy on observed labels: the ceiling any reward model faces.
  const auto pairs = oracle_pairs(d);
  int64_t correct = 0, ties = 0;
  std::map<std::string, std::pair<double, double>> per_product;
  for (const auto& p : pairs) {
    correct += p.correct;
    ties += p.tie;
    auto& g = per_product[p.product_id];
    g.first += p.correct;
    g.second += 1;
  }
  std::vector<std::pair<double, double>> groups;
  for (const auto& [pid, g] : per_product) groups.push_back(g);
  const Interval wilson = wilson_interval(correct, static_cast<int64_t>(pairs.size()));
  const Interval boot = bootstrap_ratio(groups, 1000, seed);
  out["oracle_accuracy"] = {{"pairs", pairs.size()},
                            {"correct", correct},
                            {"ties", ties},
                            {"accuracy", wilson.estimate},
                            {"wilson_95", {wilson.lo, wilson.hi}},
                            {"bootstrap_products_95", {boot.lo, boot.hi}},
                            {"target", {t.oracle_lo, t.oracle_hi}},
                            {"ok", !pairs.empty() && wilson.estimate >= t.oracle_lo &&
                                       wilson.estimate <= t.oracle_hi}};

  // Designers' match rate against rho.
  const auto n = static_cast<int64_t>(d.creatives.size());
  const double rate = n > 0 ? static_cast<double>(matched) / static_cast<double>(n) : 0.0;
  const double se = n > 0 ? std::sqrt(rho * (1 - rho) / static_cast<double>(n)) : 0.0;
  const Interval mw = wilson_interval(matched, n);
  out["designer_match_rate"] = {{"rate", rate},
                                {"rho", rho},
                                {"creatives", n},
                                {"wilson_95", {mw.lo, mw.hi}},
                                {"z", se > 0 ? (rate - rho) / se : 0.0},
                                {"ok", n > 0 && std::abs(rate - rho) <= t.match_rate_sigmas * se +
                                                                             1e-12}};

  out["counts"] = {{"products", logits.size()},
                   {"creatives", n},
                   {"pairs", d.pairs.size()},
                   {"mean_observed_ctr", mean(observed)},
                   {"mean_true_ctr", mean(true_ctr)},
                   {"median_impressions", impressions.empty() ? 0.0 : quantile(impressions, 0.5)}};
  out["ok"] = out["base_ctr"]["ok"].get<bool>() && out["ctr_spread_logit"]["ok"].get<bool>() &&
              out["oracle_accuracy"]["ok"].get<bool>() && out["designer_match_rate"]["ok"].get<bool>();
  return out;
}

}  // namespace caig::metrics
