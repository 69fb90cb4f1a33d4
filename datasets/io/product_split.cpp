#include "datasets/io/product_split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "harness/error.h"

namespace caig::data {

namespace {

void check_fractions(const std::vector<double>& f, const std::string& what) {
  if (f.size() != 3) fail("{}: expected 3 fractions (train, val, test), got {}", what, f.size());
  double sum = 0;
  for (double x : f) {
    if (!(x >= 0.0) || !std::isfinite(x))
      fail("{}: fractions must be finite and >= 0, got {}", what, x);
    sum += x;
  }
  if (std::abs(sum - 1.0) > 1e-6) fail("{}: fractions sum to {}, not 1", what, sum);
}

nlohmann::json counts(const Dataset& d) {
  std::map<std::string, std::set<std::string>> products;
  std::map<std::string, int64_t> creatives;
  for (const auto& c : d.creatives) {
    products[c.split].insert(c.product_id);
    creatives[c.split]++;
  }
  nlohmann::json p = nlohmann::json::object(), n = nlohmann::json::object();
  for (const auto& [s, ids] : products) p[s] = ids.size();
  for (const auto& [s, k] : creatives) n[s] = k;
  return {{"products", p}, {"creatives", n}};
}

}  // namespace

nlohmann::json assign_product_splits(Dataset& d, const std::vector<double>& fractions,
                                     uint64_t seed, const std::string& what) {
  check_fractions(fractions, what);
  size_t with = 0;
  const CreativeRecord* first_with = nullptr;
  const CreativeRecord* first_without = nullptr;
  for (const auto& c : d.creatives) {
    if (!c.split.empty()) {
      ++with;
      if (!first_with) first_with = &c;
    } else if (!first_without) {
      first_without = &c;
    }
  }
  if (with > 0 && with < d.creatives.size())
    fail(
        "dataset: {} of {} creatives have a split and the rest none (creative '{}' has '{}', "
        "creative '{}' none): give every creative a split or none",
        with, d.creatives.size(), first_with->creative_id, first_with->split,
        first_without->creative_id);
  if (with > 0 || d.creatives.empty()) {
    nlohmann::json r = counts(d);
    r["assigned"] = false;
    return r;
  }

  // Sorted first, so the order depends on the products alone, not on the file's row order.
  std::vector<std::string> products;
  {
    std::set<std::string> ids;
    for (const auto& c : d.creatives) ids.insert(c.product_id);
    products.assign(ids.begin(), ids.end());
  }
  std::mt19937_64 rng(seed);
  for (size_t i = products.size(); i > 1; --i)  // Fisher-Yates, the same on every platform
    std::swap(products[i - 1], products[static_cast<size_t>(rng() % i)]);
  const auto n = static_cast<double>(products.size());
  const auto n_train = static_cast<size_t>(std::llround(fractions[0] * n));
  const auto n_val =
      std::min(products.size() - n_train, static_cast<size_t>(std::llround(fractions[1] * n)));
  std::map<std::string, std::string> split;
  for (size_t i = 0; i < products.size(); ++i)
    split[products[i]] = i < n_train ? "train" : i < n_train + n_val ? "val" : "test";
  for (auto& c : d.creatives) c.split = split.at(c.product_id);
  nlohmann::json r = counts(d);
  r["assigned"] = true;
  r["fractions"] = fractions;
  r["seed"] = seed;
  return r;
}

}  // namespace caig::data
