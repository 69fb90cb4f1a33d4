// Record JSON round-trips and validation; CAIG's pair rule and pair building.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "datasets/io/pair_rule.h"
#include "datasets/io/records.h"
#include "tests/io/io_test_util.h"

namespace caig::data {
namespace {

using nlohmann::json;
using testing::error_of;

CreativeRecord full_record() {
  CreativeRecord r;
  r.creative_id = "c-1";
  r.product_id = "p-7";
  r.category = "shoes";
  r.title = "Red running shoe";
  r.attributes = json{{"color", "red"}, {"size", 42}};
  r.description = "on a wooden table, soft morning light";
  r.slots = json{{"surface", "wood"}, {"light", "morning"}};
  r.impressions = 3001;
  r.clicks = 97;
  r.true_ctr = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
  r.match = 1.0 / 3.0;
  r.image = "images/c-1.png";
  r.product_image = "products/p-7.png";
  r.split = "train";
  r.render_seed = 18446744073709551557ULL;  // above INT64_MAX
  return r;
}

CreativeRecord counts(const std::string& id, int64_t impressions, int64_t clicks,
                      const std::string& product = "p") {
  CreativeRecord r;
  r.creative_id = id;
  r.product_id = product;
  r.impressions = impressions;
  r.clicks = clicks;
  r.image = id + ".png";
  return r;
}

TEST(Records, CreativeRoundTripIsExactThroughText) {
  const CreativeRecord r = full_record();
  const json parsed = json::parse(to_json(r).dump());
  const CreativeRecord back = creative_from_json(parsed, "test");
  EXPECT_EQ(back, r);
  EXPECT_EQ(*back.true_ctr, 0.1 + 0.2);
  EXPECT_EQ(*back.match, 1.0 / 3.0);
  EXPECT_EQ(back.render_seed, 18446744073709551557ULL);

  for (double x : {5e-324, 0.999999999999999889, 1e-17, 0.07300000000000001}) {
    CreativeRecord q = r;
    q.true_ctr = x;
    EXPECT_EQ(*creative_from_json(json::parse(to_json(q).dump()), "t").true_ctr, x);
  }
}

TEST(Records, AbsentOptionalsStayAbsent) {
  CreativeRecord r = counts("a", 10, 1);
  const json j = to_json(r);
  EXPECT_TRUE(j.at("true_ctr").is_null());
  EXPECT_TRUE(j.at("match").is_null());
  const CreativeRecord back = creative_from_json(json::parse(j.dump()), "t");
  EXPECT_FALSE(back.true_ctr.has_value());
  EXPECT_FALSE(back.match.has_value());
  EXPECT_EQ(back, r);

  // A minimal hand-written line: only the required fields.
  const CreativeRecord m = creative_from_json(
      json::parse(
          R"({"creative_id":"x","product_id":"p","impressions":5,"clicks":0,"image":"x.png"})"),
      "t");
  EXPECT_EQ(m.creative_id, "x");
  EXPECT_TRUE(m.attributes.is_object());
  EXPECT_FALSE(m.true_ctr.has_value());
}

TEST(Records, EqualityComparesEveryField) {
  const CreativeRecord a = full_record();
  CreativeRecord b = a;
  EXPECT_EQ(a, b);
  b.true_ctr = std::nextafter(*a.true_ctr, 1.0);
  EXPECT_FALSE(a == b);
  b = a;
  b.split = "test";
  EXPECT_FALSE(a == b);
  b = a;
  b.slots["light"] = "noon";
  EXPECT_FALSE(a == b);
}

TEST(Records, MissingRequiredFieldNamesWhereAndField) {
  for (const char* field : {"creative_id", "product_id", "impressions", "clicks", "image"}) {
    json j = to_json(full_record());
    j.erase(field);
    const std::string err = error_of([&] { creative_from_json(j, "data/manifest.jsonl:12"); });
    EXPECT_CONTAINS(err, "data/manifest.jsonl:12");
    EXPECT_CONTAINS(err, field);
  }
}

TEST(Records, BadValuesAreErrors) {
  const std::string where = "m.jsonl:3";
  auto err_with = [&](const char* field, const json& value) {
    json j = to_json(full_record());
    j[field] = value;
    return error_of([&] { creative_from_json(j, where); });
  };
  for (auto [field, value] :
       std::vector<std::pair<const char*, json>>{{"impressions", "3000"},
                                                 {"impressions", 3000.0},
                                                 {"impressions", -1},
                                                 {"clicks", -5},
                                                 {"clicks", 3002},  // > impressions
                                                 {"true_ctr", 1.5},
                                                 {"true_ctr", -0.01},
                                                 {"true_ctr", "0.1"},
                                                 {"match", 2},
                                                 {"creative_id", 17},
                                                 {"creative_id", ""},
                                                 {"attributes", json::array()},
                                                 {"title", false},
                                                 {"render_seed", -3}}) {
    const std::string err = err_with(field, value);
    EXPECT_CONTAINS(err, where);
    EXPECT_CONTAINS(err, field);
  }
  EXPECT_CONTAINS(err_with("clicks", 3002), "exceed impressions");
  EXPECT_CONTAINS(error_of([&] { creative_from_json(json::array(), where); }), where);
}

TEST(Records, PairRoundTripAndValidation) {
  const PairRecord p{"p", "a", "b", 1};
  EXPECT_EQ(pair_from_json(json::parse(to_json(p).dump()), "t"), p);
  auto err_with = [](const char* field, const json& value) {
    json j = to_json(PairRecord{"p", "a", "b", 0});
    if (value.is_discarded())
      j.erase(field);
    else
      j[field] = value;
    return error_of([&] { pair_from_json(j, "pairs.jsonl:4"); });
  };
  EXPECT_CONTAINS(err_with("label", 2), "pairs.jsonl:4");
  EXPECT_CONTAINS(err_with("label", 2), "label");
  EXPECT_CONTAINS(err_with("label", "1"), "label");
  EXPECT_CONTAINS(err_with("left", json(json::value_t::discarded)), "left");
  EXPECT_CONTAINS(err_with("right", "a"), "itself");
}

// --- pair rule -------------------------------------------------------------------------------

TEST(PairRule, ImpressionThresholdIsStrict) {
  const PairRule rule;  // defaults: > 1000, [1.05, 1.20], positive CTR
  EXPECT_FALSE(rule.admits(counts("a", 1000, 110), counts("b", 1000, 100)));
  EXPECT_FALSE(rule.admits(counts("a", 1000, 110), counts("b", 1001, 100)));
  EXPECT_FALSE(rule.admits(counts("a", 1001, 110), counts("b", 1000, 100)));
  EXPECT_TRUE(rule.admits(counts("a", 1001, 110), counts("b", 1001, 100)));
}

TEST(PairRule, RatioBoundsAreInclusive) {
  const PairRule rule;
  const CreativeRecord lo = counts("lo", 10000, 100);
  EXPECT_FALSE(rule.admits(counts("x", 10000, 104), lo));
  EXPECT_TRUE(rule.admits(counts("x", 10000, 105), lo));  // exactly 1.05
  EXPECT_TRUE(rule.admits(counts("x", 10000, 112), lo));
  EXPECT_TRUE(rule.admits(counts("x", 10000, 120), lo));   // exactly 1.20
  EXPECT_FALSE(rule.admits(counts("x", 10000, 121), lo));  // 1.21
  // Exactly 1.05 with unequal impressions, where (210/2000) / (400/4000) rounds below 1.05.
  EXPECT_TRUE(rule.admits(counts("x", 2000, 210), counts("y", 4000, 400)));
  EXPECT_TRUE(rule.admits(counts("x", 3000, 360), counts("y", 6000, 600)));  // exactly 1.20
  EXPECT_FALSE(rule.admits(counts("x", 3000, 361), counts("y", 6000, 600)));
}

TEST(PairRule, IsSymmetric) {
  const PairRule rule;
  for (int64_t c = 95; c <= 125; ++c) {
    const CreativeRecord a = counts("a", 5000, c * 5);
    const CreativeRecord b = counts("b", 2500, 250);
    EXPECT_EQ(rule.admits(a, b), rule.admits(b, a)) << c;
  }
}

TEST(PairRule, ZeroClicksAndTiesAreRejected) {
  PairRule rule;
  EXPECT_FALSE(rule.admits(counts("a", 5000, 0), counts("b", 5000, 100)));
  EXPECT_FALSE(rule.admits(counts("a", 5000, 0), counts("b", 5000, 0)));
  rule.require_positive_ctr = false;
  rule.min_ratio = 1.0;
  rule.max_ratio = 1e300;
  EXPECT_FALSE(rule.admits(counts("a", 5000, 0), counts("b", 5000, 100)));    // ratio infinite
  EXPECT_FALSE(rule.admits(counts("a", 5000, 50), counts("b", 10000, 100)));  // tie: no label
  EXPECT_TRUE(rule.admits(counts("a", 5000, 51), counts("b", 10000, 100)));
}

TEST(PairRule, JsonRoundTripAndStrictKeys) {
  PairRule r;
  r.min_impressions = 500;
  r.min_ratio = 1.1;
  r.max_ratio = 1.5;
  r.require_positive_ctr = false;
  const PairRule back = PairRule::from_json(json::parse(r.to_json().dump()));
  EXPECT_EQ(back.min_impressions, 500);
  EXPECT_EQ(back.min_ratio, 1.1);
  EXPECT_EQ(back.max_ratio, 1.5);
  EXPECT_FALSE(back.require_positive_ctr);

  const PairRule partial = PairRule::from_json(json{{"min_ratio", 1.02}});
  EXPECT_EQ(partial.min_ratio, 1.02);
  EXPECT_EQ(partial.min_impressions, 1000);

  EXPECT_CONTAINS(error_of([] { PairRule::from_json(json{{"min_ratios", 1.0}}); }), "min_ratios");
  EXPECT_CONTAINS(error_of([] {
                    PairRule::from_json(json{{"min_impressions", 1.5}});
                  }),
                  "min_impressions");
  EXPECT_CONTAINS(error_of([] { PairRule::from_json(json{{"max_ratio", "2"}}); }), "max_ratio");
  EXPECT_CONTAINS(error_of([] {
                    PairRule::from_json(json{{"require_positive_ctr", 1}});
                  }),
                  "require_positive_ctr");
  EXPECT_CONTAINS(error_of([] {
                    PairRule::from_json(json{{"min_ratio", 2}, {"max_ratio", 1}});
                  }),
                  "min_ratio");
}

// Many products of two or three creatives each, all pairs admissible.
std::vector<CreativeRecord> many_products(int n) {
  std::vector<CreativeRecord> v;
  for (int i = 0; i < n; ++i) {
    const std::string p = "p" + std::to_string(i);
    v.push_back(counts(p + "a", 10000, 100, p));
    v.push_back(counts(p + "b", 10000, 110, p));
    if (i % 3 == 0) v.push_back(counts(p + "c", 10000, 120, p));  // 1.2 vs a, 1.09 vs b
  }
  return v;
}

TEST(PairRule, BuildPairsLabelsOrderAndPlacement) {
  const auto creatives = many_products(200);
  std::map<std::string, const CreativeRecord*> by_id;
  for (const auto& c : creatives) by_id[c.creative_id] = &c;

  const auto pairs = build_pairs(creatives, PairRule{}, 42);
  ASSERT_EQ(pairs.size(), 200u + 2 * 67u);
  int left_wins = 0;
  for (const auto& p : pairs) {
    const CreativeRecord& l = *by_id.at(p.left);
    const CreativeRecord& r = *by_id.at(p.right);
    EXPECT_EQ(l.product_id, p.product_id);
    EXPECT_EQ(r.product_id, p.product_id);
    EXPECT_EQ(p.label, l.observed_ctr() > r.observed_ctr() ? 0 : 1);
    left_wins += p.label == 0;
  }
  // Both placements occur, roughly half each.
  EXPECT_GT(left_wins, 80);
  EXPECT_LT(left_wins, static_cast<int>(pairs.size()) - 80);
  // Products in order of first appearance; within a product, creative order.
  EXPECT_EQ(pairs[0].product_id, "p0");
  EXPECT_EQ(pairs[3].product_id, "p1");

  EXPECT_EQ(build_pairs(creatives, PairRule{}, 42), pairs);  // deterministic
  EXPECT_NE(build_pairs(creatives, PairRule{}, 43), pairs);  // the seed matters
}

TEST(PairRule, PlacementDoesNotDependOnOrder) {
  auto creatives = many_products(50);
  const auto pairs = build_pairs(creatives, PairRule{}, 7);
  std::mt19937 rng(1);
  std::shuffle(creatives.begin(), creatives.end(), rng);
  const auto shuffled = build_pairs(creatives, PairRule{}, 7);
  // Same pairs with the same sides; only the order of the list changes.
  auto key = [](const PairRecord& p) {
    return p.left + "|" + p.right + "|" + std::to_string(p.label);
  };
  std::set<std::string> a, b;
  for (const auto& p : pairs) a.insert(key(p));
  for (const auto& p : shuffled) b.insert(key(p));
  EXPECT_EQ(a, b);
}

TEST(PairRule, OnlySameProductPairs) {
  std::vector<CreativeRecord> v = {counts("a", 5000, 100, "p1"), counts("b", 5000, 110, "p2"),
                                   counts("c", 5000, 108, "p1")};
  const auto pairs = build_pairs(v, PairRule{}, 1);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].product_id, "p1");
}

}  // namespace
}  // namespace caig::data
