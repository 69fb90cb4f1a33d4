#include <gtest/gtest.h>

#include "harness/error.h"
#include "metrics/ab_summary.h"
#include "metrics/ab_test.h"

using namespace caig::metrics;

TEST(AbSummary, ImpressionsFollowTheCategoryShareThenSplitEvenly) {
  // Shares renormalised over x and y (0.8): x gets 250 of 1000, split over its two products.
  const std::map<std::string, double> share = {{"x", 0.2}, {"y", 0.6}, {"z", 0.2}};
  EXPECT_EQ(allocate_impressions({"x", "x", "y"}, share, 1000),
            (std::vector<int64_t>{125, 125, 750}));
  // 125.125, 125.125, 750.375 rounded down leave one: to the first product.
  EXPECT_EQ(allocate_impressions({"x", "x", "y"}, share, 1001),
            (std::vector<int64_t>{126, 125, 750}));
  EXPECT_TRUE(allocate_impressions({}, share, 1000).empty());
  EXPECT_THROW(allocate_impressions({"x", "w"}, share, 1000), caig::Error);
  EXPECT_EQ(ad_impressions(7, 2, 0), 4);
  EXPECT_EQ(ad_impressions(7, 2, 1), 3);
  EXPECT_THROW(ad_impressions(7, 0, 0), caig::Error);
}

namespace {
std::vector<AbProduct> two_products() { return {{"p1", "x", 200000}, {"p2", "y", 600000}}; }
AbArm arm(const std::string& name, std::vector<double> ctr, std::vector<bool> matched) {
  AbArm a;
  a.name = name;
  a.true_ctr = std::move(ctr);
  a.matched = std::move(matched);
  draw_clicks(two_products(), 2, 42, a);
  return a;
}
}  // namespace

TEST(AbSummary, ClicksUseCommonRandomNumbers) {
  const auto a = arm("a", {0.02, 0.02, 0.03, 0.03}, {true, true, true, true});
  const auto b = arm("b", {0.02, 0.02, 0.03, 0.03}, {true, true, true, true});
  EXPECT_EQ(a.clicks, b.clicks);
  const auto none = arm("none", {0.0, 0.0, 1.0, 1.0}, {true, true, true, true});
  EXPECT_EQ(none.clicks, (std::vector<int64_t>{0, 0, 300000, 300000}));
  const auto more = arm("more", {0.021, 0.021, 0.031, 0.031}, {true, true, true, true});
  for (size_t i = 0; i < 4; ++i) EXPECT_GE(more.clicks[i], a.clicks[i]);
  AbArm short_arm;
  short_arm.name = "short";
  short_arm.true_ctr = {0.1};
  EXPECT_THROW(draw_clicks(two_products(), 2, 1, short_arm), caig::Error);
}

TEST(AbSummary, LiftsByHandAndEdgeCases) {
  // The arm doubles every CTR: its expected lift is exactly 1; one of its four backgrounds is
  // mismatched. The copy of the control has the same clicks: no lift, no spread. Category y's
  // control never gets a click: its observed and expected lifts are undefined, and said so.
  const auto control = arm("control", {0.02, 0.02, 0.0, 0.0}, {true, true, true, true});
  const auto copy = arm("copy", {0.02, 0.02, 0.0, 0.0}, {true, true, true, true});
  const auto twice = arm("twice", {0.04, 0.04, 0.05, 0.05}, {true, false, true, true});
  AbOptions o;
  o.control = "control";
  o.ci = "delta";
  o.common = {"x"};
  const auto s = summarise_ab_test(two_products(), 2, {control, copy, twice}, o);
  ASSERT_EQ(s["arms"].size(), 3u);
  EXPECT_FALSE(s["arms"][0].contains("lift"));  // the control itself
  const auto& c = s["arms"][1];
  EXPECT_DOUBLE_EQ(c["lift"]["observed"]["estimate"].get<double>(), 0.0);
  EXPECT_NEAR(c["lift"]["observed"]["lo"].get<double>(), 0.0, 1e-12);
  const auto& t = s["arms"][2];
  EXPECT_DOUBLE_EQ(t["mismatched_share"].get<double>(), 0.25);
  // Over x only (the common set): 0.04 against 0.02.
  EXPECT_NEAR(t["common"]["lift"]["expected"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(t["common"]["products"], 1);
  // All products: the control's clicks all come from x.
  const double expected_all = (200000 * 0.04 + 600000 * 0.05) / (200000 * 0.02) - 1;
  EXPECT_NEAR(t["lift"]["expected"].get<double>(), expected_all, 1e-9);
  EXPECT_NEAR(t["impressions"].get<double>(), 800000, 0);
  const auto& y = t["by_category"][1];
  EXPECT_EQ(y["category"], "y");
  EXPECT_TRUE(y["lift"]["observed"].is_null());
  EXPECT_EQ(y["lift"]["undefined"], "the control has no clicks");
  EXPECT_TRUE(y["lift"]["expected"].is_null());
  // Power: the control's traffic and CTR over all products.
  const double ctr = s["arms"][0]["ctr"].get<double>();
  EXPECT_NEAR(s["power"]["all"].get<double>(), minimal_detectable_lift(800000, ctr), 1e-12);
  EXPECT_TRUE(s["power"]["by_category"]["y"].is_null());  // no click to expect
  // An empty common set has no products and no lift.
  o.common = {};
  const auto e = summarise_ab_test(two_products(), 2, {control, twice}, o);
  EXPECT_EQ(e["arms"][1]["common"]["products"], 0);
  EXPECT_EQ(e["arms"][1]["common"]["lift"]["undefined"], "no products");
  o.control = "missing";
  EXPECT_THROW(summarise_ab_test(two_products(), 2, {control}, o), caig::Error);
}
