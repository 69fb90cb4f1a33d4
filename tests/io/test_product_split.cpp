// The seeded product split of unsplit (real) datasets: counts by the fractions, one split per
// product, the same for the same seed whatever the row order, kept splits, and the errors.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "datasets/io/product_split.h"
#include "io_test_util.h"

using namespace caig::data;
using namespace caig::data::testing;

namespace {

Dataset unsplit(int products, int per_product) {
  Dataset d;
  for (int p = 0; p < products; ++p)
    for (int k = 0; k < per_product; ++k) {
      CreativeRecord c;
      c.product_id = "p" + std::to_string(p);
      c.creative_id = c.product_id + "_" + std::to_string(k);
      d.creatives.push_back(c);
    }
  return d;
}

std::map<std::string, std::string> split_by_product(const Dataset& d) {
  std::map<std::string, std::string> s;
  for (const auto& c : d.creatives) {
    auto [it, inserted] = s.emplace(c.product_id, c.split);
    EXPECT_EQ(it->second, c.split) << "product " << c.product_id << " is in two splits";
  }
  return s;
}

}  // namespace

TEST(ProductSplit, CountsFollowTheFractionsAndEveryProductHasOneSplit) {
  Dataset d = unsplit(20, 3);
  const auto r = assign_product_splits(d, {0.7, 0.2, 0.1}, 5, "split");
  EXPECT_TRUE(r.at("assigned").get<bool>());
  // round(0.7 * 20) = 14, round(0.2 * 20) = 4, the rest 2.
  EXPECT_EQ(r.at("products").at("train"), 14);
  EXPECT_EQ(r.at("products").at("val"), 4);
  EXPECT_EQ(r.at("products").at("test"), 2);
  EXPECT_EQ(r.at("creatives").at("train"), 42);
  EXPECT_EQ(r.at("seed"), 5);
  EXPECT_EQ(split_by_product(d).size(), 20u);
}

TEST(ProductSplit, TheSameSeedGivesTheSameSplitWhateverTheRowOrder) {
  Dataset a = unsplit(30, 2), b = unsplit(30, 2), c = unsplit(30, 2);
  std::reverse(b.creatives.begin(), b.creatives.end());
  assign_product_splits(a, {0.8, 0.1, 0.1}, 11, "split");
  assign_product_splits(b, {0.8, 0.1, 0.1}, 11, "split");
  assign_product_splits(c, {0.8, 0.1, 0.1}, 12, "split");
  EXPECT_EQ(split_by_product(a), split_by_product(b));
  EXPECT_NE(split_by_product(a), split_by_product(c));
}

TEST(ProductSplit, ExtremeFractionsAndTinyDatasets) {
  Dataset all_train = unsplit(5, 1);
  const auto r = assign_product_splits(all_train, {1.0, 0.0, 0.0}, 1, "split");
  EXPECT_EQ(r.at("products").at("train"), 5);
  EXPECT_FALSE(r.at("products").contains("test"));
  // One product: round(0.8) = 1 to train, nothing left for val or test.
  Dataset one = unsplit(1, 4);
  assign_product_splits(one, {0.8, 0.1, 0.1}, 1, "split");
  for (const auto& c : one.creatives) EXPECT_EQ(c.split, "train");
  // val rounds up past what is left: it gets only the remainder.
  Dataset three = unsplit(3, 1);
  const auto t = assign_product_splits(three, {0.5, 0.5, 0.0}, 1, "split");
  EXPECT_EQ(t.at("products").at("train").get<int>() + t.at("products").at("val").get<int>(), 3);
}

TEST(ProductSplit, ADatasetWithSplitsKeepsThem) {
  Dataset d = unsplit(4, 2);
  for (auto& c : d.creatives) c.split = c.product_id == "p0" ? "test" : "train";
  const auto before = d.creatives;
  const auto r = assign_product_splits(d, {0.8, 0.1, 0.1}, 3, "split");
  EXPECT_FALSE(r.at("assigned").get<bool>());
  EXPECT_EQ(r.at("products").at("test"), 1);
  EXPECT_EQ(d.creatives, before);
}

TEST(ProductSplit, MixedSplitsAndBadFractionsAreErrors) {
  Dataset d = unsplit(3, 2);
  d.creatives[1].split = "train";
  const std::string mixed = error_of([&] { assign_product_splits(d, {0.8, 0.1, 0.1}, 1, "s"); });
  EXPECT_CONTAINS(mixed, "1 of 6 creatives have a split");
  EXPECT_CONTAINS(mixed, "p0_1");
  Dataset e = unsplit(3, 1);
  EXPECT_CONTAINS(error_of([&] {
                    assign_product_splits(e, {0.8, 0.2}, 1, "key.x");
                  }),
                  "key.x: expected 3 fractions");
  EXPECT_CONTAINS(error_of([&] {
                    assign_product_splits(e, {0.8, 0.3, 0.1}, 1, "key.x");
                  }),
                  "key.x: fractions sum to 1.2");
  EXPECT_CONTAINS(error_of([&] {
                    assign_product_splits(e, {1.2, -0.1, -0.1}, 1, "key.x");
                  }),
                  "must be finite and >= 0");
}
