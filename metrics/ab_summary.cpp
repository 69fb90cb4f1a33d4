#include "metrics/ab_summary.h"

#include <cmath>
#include <limits>
#include <set>

#include "harness/error.h"
#include "harness/seeds.h"
#include "metrics/ab_test.h"

namespace caig::metrics {

std::vector<int64_t> allocate_impressions(const std::vector<std::string>& product_categories,
                                          const std::map<std::string, double>& share,
                                          int64_t total) {
  if (total < 0) fail("A/B test: impressions must be >= 0, got {}", total);
  std::map<std::string, int64_t> count;
  for (const auto& c : product_categories) ++count[c];
  double present = 0;
  for (const auto& [c, n] : count) {
    const auto it = share.find(c);
    if (it == share.end() || !(it->second >= 0))
      fail("A/B test: category '{}' has no traffic share", c);
    present += it->second;
  }
  std::vector<int64_t> out;
  if (product_categories.empty()) return out;
  if (!(present > 0)) fail("A/B test: the test products' categories have no traffic share");
  int64_t given = 0;
  for (const auto& c : product_categories) {
    const double each =
        static_cast<double>(total) * share.at(c) / present / static_cast<double>(count.at(c));
    out.push_back(static_cast<int64_t>(std::floor(each)));
    given += out.back();
  }
  for (size_t i = 0; given < total; i = (i + 1) % out.size(), ++given) ++out[i];
  return out;
}

int64_t ad_impressions(int64_t product_impressions, int64_t ads, int64_t k) {
  if (ads < 1) fail("A/B test: ads per product must be >= 1, got {}", ads);
  return product_impressions / ads + (k < product_impressions % ads ? 1 : 0);
}

void draw_clicks(const std::vector<AbProduct>& products, int64_t ads_per_product, uint64_t seed,
                 AbArm& arm) {
  const auto n = products.size() * static_cast<size_t>(ads_per_product);
  if (arm.true_ctr.size() != n)
    fail("A/B test: arm '{}' has {} ads for {} products x {} ads", arm.name, arm.true_ctr.size(),
         products.size(), ads_per_product);
  arm.clicks.assign(n, 0);
  for (size_t p = 0; p < products.size(); ++p)
    for (int64_t k = 0; k < ads_per_product; ++k) {
      Rng rng(derive_seed(derive_seed(seed, p), static_cast<uint64_t>(k)));
      const size_t i = p * static_cast<size_t>(ads_per_product) + static_cast<size_t>(k);
      arm.clicks[i] = binomial_quantile(ad_impressions(products[p].impressions, ads_per_product, k),
                                        arm.true_ctr[i], rng.uniform());
    }
}

namespace {

// Per product of one arm: clicks, expected clicks, impressions, mismatched ads.
struct Totals {
  std::vector<double> clicks, expected;
  double impressions = 0, mismatched = 0, ads = 0;
};

Totals totals(const std::vector<AbProduct>& products, int64_t ads, const AbArm& arm,
              const std::vector<size_t>& which) {
  Totals t;
  for (size_t p : which) {
    double c = 0, e = 0;
    for (int64_t k = 0; k < ads; ++k) {
      const size_t i = p * static_cast<size_t>(ads) + static_cast<size_t>(k);
      const auto n = static_cast<double>(ad_impressions(products[p].impressions, ads, k));
      c += static_cast<double>(arm.clicks[i]);
      e += n * arm.true_ctr[i];
      t.mismatched += arm.matched[i] ? 0 : 1;
      t.ads += 1;
    }
    t.clicks.push_back(c);
    t.expected.push_back(e);
    t.impressions += static_cast<double>(products[p].impressions);
  }
  return t;
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

nlohmann::json scope_row(const std::vector<AbProduct>& products, int64_t ads, const AbArm& arm,
                         const AbArm& control, const std::vector<size_t>& which,
                         const AbOptions& o) {
  const Totals a = totals(products, ads, arm, which), c = totals(products, ads, control, which);
  const double clicks = sum(a.clicks), expected = sum(a.expected);
  nlohmann::json row = {{"products", which.size()},
                        {"impressions", a.impressions},
                        {"clicks", clicks},
                        {"ctr", a.impressions > 0 ? clicks / a.impressions : 0.0},
                        {"expected_ctr", a.impressions > 0 ? expected / a.impressions : 0.0},
                        {"mismatched_share", a.ads > 0 ? a.mismatched / a.ads : 0.0}};
  if (arm.name == control.name) return row;
  std::vector<PairedClicks> units;
  for (size_t i = 0; i < which.size(); ++i) units.push_back({a.clicks[i], c.clicks[i]});
  nlohmann::json lift = nlohmann::json::object();
  if (const auto l = relative_lift(units, o.ci, o.replicates, o.seed)) {
    lift["observed"] = l->to_json();
  } else {
    lift["observed"] = nullptr;
    lift["undefined"] = which.empty() ? "no products" : "the control has no clicks";
  }
  const double ce = sum(c.expected);
  lift["expected"] = ce > 0 ? nlohmann::json(expected / ce - 1) : nlohmann::json(nullptr);
  row["lift"] = lift;
  return row;
}

}  // namespace

nlohmann::json summarise_ab_test(const std::vector<AbProduct>& products, int64_t ads_per_product,
                                 const std::vector<AbArm>& arms, const AbOptions& o) {
  const AbArm* control = nullptr;
  const auto n = products.size() * static_cast<size_t>(ads_per_product);
  for (const auto& a : arms) {
    if (a.true_ctr.size() != n || a.matched.size() != n || a.clicks.size() != n)
      fail("A/B test: arm '{}' has {} ads ({} verdicts, {} click counts) for {} products x {} ads",
           a.name, a.true_ctr.size(), a.matched.size(), a.clicks.size(), products.size(),
           ads_per_product);
    if (a.name == o.control) control = &a;
  }
  if (!control) fail("A/B test: the control arm '{}' is not among the arms", o.control);
  std::vector<size_t> all, common;
  std::map<std::string, std::vector<size_t>> by_category;
  const std::set<std::string> common_set(o.common.begin(), o.common.end());
  for (size_t p = 0; p < products.size(); ++p) {
    all.push_back(p);
    if (common_set.count(products[p].category)) common.push_back(p);
    by_category[products[p].category].push_back(p);
  }
  nlohmann::json out_arms = nlohmann::json::array();
  for (const auto& a : arms) {
    auto row = scope_row(products, ads_per_product, a, *control, all, o);
    row["name"] = a.name;
    row["common"] = scope_row(products, ads_per_product, a, *control, common, o);
    nlohmann::json cats = nlohmann::json::array();
    for (const auto& [category, which] : by_category) {
      auto c = scope_row(products, ads_per_product, a, *control, which, o);
      c["category"] = category;
      cats.push_back(std::move(c));
    }
    row["by_category"] = std::move(cats);
    out_arms.push_back(std::move(row));
  }
  // What a real test could resolve at this traffic: two independent arms of this size each.
  auto power = [&](const std::vector<size_t>& which) {
    const Totals c = totals(products, ads_per_product, *control, which);
    const double mdl = c.impressions > 0
                           ? minimal_detectable_lift(c.impressions, sum(c.clicks) / c.impressions)
                           : std::numeric_limits<double>::infinity();
    return std::isfinite(mdl) ? nlohmann::json(mdl) : nlohmann::json(nullptr);
  };
  nlohmann::json cats = nlohmann::json::object();
  for (const auto& [category, which] : by_category) cats[category] = power(which);
  return {{"arms", out_arms},
          {"control", o.control},
          {"ci", o.ci},
          {"common_categories", o.common},
          {"power",
           {{"alpha", 0.05},
            {"power", 0.8},
            {"all", power(all)},
            {"common", power(common)},
            {"by_category", cats}}}};
}

}  // namespace caig::metrics
