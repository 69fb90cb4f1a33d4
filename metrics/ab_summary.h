// The simulated online A/B test's tables from plain data (DESIGN.md, "Metrics"): traffic over the
// test products by their category's share, clicks with common random numbers, and per arm the
// CTR, the relative lift over the control with its 95% interval, the noise-free expected lift and
// the share of mismatched backgrounds, for all categories, the common ones and each category.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig::metrics {

struct AbProduct {
  std::string product_id;
  std::string category;
  int64_t impressions = 0;  // over the period, shared evenly by the product's ads
};

// Impressions of each product over the period: `total` split over the categories present in
// proportion to `share` (renormalised over them), then evenly over each category's products;
// rounded down, the remainder given one by one from the first product on, so they sum to total.
// A category without a share is an Error naming it.
std::vector<int64_t> allocate_impressions(const std::vector<std::string>& product_categories,
                                          const std::map<std::string, double>& share,
                                          int64_t total);

// Impressions of ad k of a product with n impressions and `ads` ads: n / ads, the remainder to the
// first ones.
int64_t ad_impressions(int64_t product_impressions, int64_t ads, int64_t k);

// The ads of one arm, product-major (ads_per_product per product, in the products' order).
struct AbArm {
  std::string name;
  std::vector<double> true_ctr;
  std::vector<bool> matched;
  std::vector<int64_t> clicks;  // filled by draw_clicks
};

// Clicks of every ad: Binomial(ad impressions, true CTR) drawn by inversion from the uniform of
// (seed, product index, ad index), the same for every arm (common random numbers).
void draw_clicks(const std::vector<AbProduct>& products, int64_t ads_per_product, uint64_t seed,
                 AbArm& arm);

struct AbOptions {
  std::string control;              // the arm lifts are measured against
  std::string ci = "bootstrap";     // or "delta"
  int replicates = 1000;            // bootstrap
  uint64_t seed = 0;                // bootstrap
  std::vector<std::string> common;  // the common categories (their own row)
};

// Per arm: {name, impressions, clicks, ctr, expected_ctr, mismatched_share, lift (all / common:
// {observed: {estimate, lo, hi} or null with `undefined` saying why, expected}), by_category
// (each category with products: products, the same figures)}; and `power`: the minimal
// detectable lift of all / common / each category at its traffic and the control's CTR. Arms
// must all hold products x ads_per_product ads (an Error naming the arm otherwise).
nlohmann::json summarise_ab_test(const std::vector<AbProduct>& products, int64_t ads_per_product,
                                 const std::vector<AbArm>& arms, const AbOptions& options);

}  // namespace caig::metrics
