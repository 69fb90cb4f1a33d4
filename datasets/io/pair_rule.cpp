#include "datasets/io/pair_rule.h"

#include <limits>
#include <string_view>
#include <unordered_map>

#include "harness/error.h"

namespace caig::data {

using nlohmann::json;

namespace {

__extension__ typedef __int128 Int128;  // exact cross-products of 64-bit counts

// Observed CTRs are compared through integer cross-products (c_a * n_b vs c_b * n_a), so that
// counts whose ratio is exactly 1.05 meet the threshold 1.05 instead of missing it by rounding.
double ratio(Int128 num, Int128 den) {
  constexpr Int128 kExact = Int128(1) << 53;  // below this, int -> double is exact
  if (num < kExact && den < kExact) return static_cast<double>(num) / static_cast<double>(den);
  return static_cast<double>(static_cast<long double>(num) / static_cast<long double>(den));
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Placement depends only on (seed, product, the two creative ids), never on the order in which
// creatives are listed or pairs visited: the ids are hashed in sorted order.
// Returns true when the creative with the smaller id goes left.
bool smaller_id_left(uint64_t seed, const std::string& product, const std::string& a,
                     const std::string& b) {
  const std::string& lo = a < b ? a : b;
  const std::string& hi = a < b ? b : a;
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, product);
  h = fnv1a(h, std::string_view("\0", 1));  // separator: ("ab","c") differs from ("a","bc")
  h = fnv1a(h, lo);
  h = fnv1a(h, std::string_view("\0", 1));
  h = fnv1a(h, hi);
  return (splitmix64(splitmix64(seed) ^ h) >> 63) != 0;
}

}  // namespace

// A tie in observed CTR is never admitted, even where min_ratio <= 1: a tie has no label.
bool PairRule::admits(const CreativeRecord& a, const CreativeRecord& b) const {
  if (a.impressions <= min_impressions || b.impressions <= min_impressions) return false;
  if (require_positive_ctr && (a.clicks <= 0 || b.clicks <= 0)) return false;
  const Int128 ca_nb = Int128(a.clicks) * b.impressions;  // a's CTR times both denominators
  const Int128 cb_na = Int128(b.clicks) * a.impressions;
  if (ca_nb == cb_na) return false;
  const Int128 hi = ca_nb > cb_na ? ca_nb : cb_na;
  const Int128 lo = ca_nb > cb_na ? cb_na : ca_nb;
  if (lo == 0) return false;  // infinite ratio
  const double r = ratio(hi, lo);
  return r >= min_ratio && r <= max_ratio;
}

json PairRule::to_json() const {
  return json{{"min_impressions", min_impressions},
              {"min_ratio", min_ratio},
              {"max_ratio", max_ratio},
              {"require_positive_ctr", require_positive_ctr}};
}

// Keys missing from `j` keep their defaults; unknown keys and wrong types are errors.
PairRule PairRule::from_json(const json& j) {
  if (!j.is_object()) fail("pair rule: expected a JSON object, got {}", j.type_name());
  PairRule r;
  for (const auto& [key, v] : j.items()) {
    if (key == "min_impressions") {
      if (!v.is_number_integer())
        fail("pair rule: 'min_impressions' must be an integer, got {}", v.dump());
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("pair rule: 'min_impressions' is too large");
      r.min_impressions = v.get<int64_t>();
    } else if (key == "min_ratio" || key == "max_ratio") {
      if (!v.is_number()) fail("pair rule: '{}' must be a number, got {}", key, v.dump());
      (key == "min_ratio" ? r.min_ratio : r.max_ratio) = v.get<double>();
    } else if (key == "require_positive_ctr") {
      if (!v.is_boolean())
        fail("pair rule: 'require_positive_ctr' must be true or false, got {}", v.dump());
      r.require_positive_ctr = v.get<bool>();
    } else {
      fail(
          "pair rule: unknown key '{}' (known: min_impressions, min_ratio, max_ratio, "
          "require_positive_ctr)",
          key);
    }
  }
  if (r.min_ratio > r.max_ratio)
    fail("pair rule: 'min_ratio' ({}) exceeds 'max_ratio' ({})", r.min_ratio, r.max_ratio);
  return r;
}

std::vector<PairRecord> build_pairs(const std::vector<CreativeRecord>& creatives,
                                    const PairRule& rule, uint64_t seed) {
  std::unordered_map<std::string, size_t> group_of;
  std::vector<std::vector<size_t>> groups;  // products in order of first appearance
  for (size_t i = 0; i < creatives.size(); ++i) {
    auto [it, fresh] = group_of.emplace(creatives[i].product_id, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  std::vector<PairRecord> pairs;
  for (const auto& g : groups) {
    for (size_t x = 0; x < g.size(); ++x) {
      for (size_t y = x + 1; y < g.size(); ++y) {
        const CreativeRecord& a = creatives[g[x]];
        const CreativeRecord& b = creatives[g[y]];
        if (!rule.admits(a, b)) continue;
        const bool a_higher = Int128(a.clicks) * b.impressions > Int128(b.clicks) * a.impressions;
        const CreativeRecord& hi = a_higher ? a : b;
        const CreativeRecord& lo = a_higher ? b : a;
        const bool hi_is_smaller = hi.creative_id < lo.creative_id;
        const bool hi_left =
            smaller_id_left(seed, a.product_id, a.creative_id, b.creative_id) == hi_is_smaller;
        PairRecord p;
        p.product_id = a.product_id;
        p.left = hi_left ? hi.creative_id : lo.creative_id;
        p.right = hi_left ? lo.creative_id : hi.creative_id;
        p.label = hi_left ? 0 : 1;
        pairs.push_back(std::move(p));
      }
    }
  }
  return pairs;
}

}  // namespace caig::data
