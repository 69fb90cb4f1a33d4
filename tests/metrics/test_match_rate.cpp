// The match rate of sampled descriptions, against counts worked out from the world's judge.
#include <gtest/gtest.h>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/click_model.h"
#include "datasets/shopworld/vocabulary.h"
#include "harness/error.h"
#include "metrics/match_rate.h"

using namespace caig;

namespace {

// A complete background for category `cat` whose match score is >= 0.5 (matched) or < 0.5.
std::string background_for(int cat, bool matched) {
  world::Background b;
  b.lighting = b.style = b.palette = b.prop = 0;
  for (int s = 0; s < static_cast<int>(world::slot_phrases(world::Slot::Scene).size()); ++s) {
    b.scene = s;
    for (int st = 0; st < static_cast<int>(world::slot_phrases(world::Slot::Style).size()); ++st) {
      b.style = st;
      if ((world::match_score(cat, b) >= 0.5) == matched) return world::describe(b);
    }
  }
  throw std::runtime_error("no such background");
}

}  // namespace

TEST(MatchRate, CountsWellFormedAndMatchedAndGroupsByProduct) {
  const std::string cat = world::categories()[0].name;
  const std::string good = background_for(0, true), off = background_for(0, false);
  // p1: matched, matched; p2: mismatched, malformed (a slot twice), unparsable.
  const std::vector<metrics::SampledDescription> samples = {{"p1", cat, good},
                                                            {"p1", cat, good},
                                                            {"p2", cat, off},
                                                            {"p2", cat, good + ", " + good},
                                                            {"p2", cat, "zzz"}};
  const auto r = metrics::match_rate(samples, 0.5, 200, 3);
  EXPECT_EQ(r.products, 2);
  EXPECT_EQ(r.samples, 5);
  EXPECT_EQ(r.well_formed, 3);
  EXPECT_EQ(r.matched, 2);
  EXPECT_DOUBLE_EQ(r.well_formed_rate, 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(r.match_rate, 2.0 / 5.0);
  // Resampling products: p1 alone gives 2/2, p2 alone 0/3, so the interval lies in [0, 1] and
  // brackets the rate.
  EXPECT_LE(r.interval_lo, r.match_rate);
  EXPECT_GE(r.interval_hi, r.match_rate);
  EXPECT_GE(r.interval_lo, 0.0);
  EXPECT_LE(r.interval_hi, 1.0);
  const auto j = r.to_json();
  EXPECT_EQ(j["samples"], 5);
  EXPECT_DOUBLE_EQ(j["match_rate_interval"][1].get<double>(), r.interval_hi);
  // The threshold decides: above every score nothing matches, below it every well-formed one.
  EXPECT_EQ(metrics::match_rate(samples, 1.01, 10, 3).matched, 0);
  EXPECT_EQ(metrics::match_rate(samples, -1.0, 10, 3).matched, 3);
}

TEST(MatchRate, EmptyAndUnknownCategory) {
  const auto r = metrics::match_rate({}, 0.5, 100, 1);
  EXPECT_EQ(r.samples, 0);
  EXPECT_EQ(r.match_rate, 0.0);
  EXPECT_EQ(r.interval_lo, 0.0);
  EXPECT_EQ(r.interval_hi, 1.0);
  // A category the world does not know matches nothing, whatever the description.
  const auto unknown =
      metrics::match_rate({{"p", "no such category", background_for(0, true)}}, -1.0, 10, 1);
  EXPECT_EQ(unknown.well_formed, 1);
  EXPECT_EQ(unknown.matched, 0);
  const auto j =
      metrics::judge_description(world::categories()[0].name, background_for(0, true), 0.5);
  EXPECT_TRUE(j.well_formed);
  EXPECT_TRUE(j.matched);
}
