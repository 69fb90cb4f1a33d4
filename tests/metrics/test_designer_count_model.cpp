#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/click_model.h"
#include "harness/error.h"
#include "metrics/designer_count_model.h"
#include "tests/support/test_util.h"

namespace {

using caig::metrics::fit_designer_count_model;
using caig::testing::error_of;
using testing::HasSubstr;
namespace world = caig::world;

caig::data::CreativeRecord creative(const std::string& id, int category, int scene, int style,
                                    const std::string& split = "train") {
  world::Background b;
  b.scene = scene;
  b.style = style;
  b.lighting = 0;
  b.palette = 0;
  b.prop = 0;
  caig::data::CreativeRecord c;
  c.creative_id = id;
  c.category = world::categories().at(static_cast<size_t>(category)).name;
  c.description = world::describe(b);
  c.split = split;
  return c;
}

// Category 0: scenes 0, 0, 1 and styles 2, 2, 3; category 1: one creative (scene 5, style 0).
caig::data::Dataset small_log() {
  caig::data::Dataset d;
  d.creatives = {creative("a1", 0, 0, 2), creative("a2", 0, 0, 2), creative("a3", 0, 1, 3),
                 creative("b1", 1, 5, 0), creative("v1", 0, 7, 6, "val")};
  return d;
}

double match_of(int category, int scene, int style) {
  world::Background b;
  b.scene = scene;
  b.style = style;
  return world::match_score(category, b);
}

}  // namespace

TEST(DesignerCountModel, LeaveOneOutChoosesAlphaByHand) {
  const std::vector<double> alphas = {0.05, 0.5, 2.0, 8.0};
  const auto m = fit_designer_count_model(small_log(), "train", alphas);
  const double S = world::kNumScenes, T = world::kNumStyles;
  // Each description scored by the other descriptions of its category (n - 1 = 2 in category 0;
  // none in category 1, whose single creative gets 1/S and 1/T whatever alpha).
  auto loo = [&](double a) {
    const double common = std::log((1 + a) / (2 + a * S)) + std::log((1 + a) / (2 + a * T));
    const double rare = std::log(a / (2 + a * S)) + std::log(a / (2 + a * T));
    return (2 * common + rare + std::log(1 / S) + std::log(1 / T)) / 4;
  };
  double best_alpha = 0, best = -1e300;
  for (double a : alphas)
    if (loo(a) > best) best = loo(a), best_alpha = a;
  EXPECT_EQ(m.alpha, best_alpha);
  EXPECT_NEAR(m.loo_log_likelihood, best, 1e-12);
  EXPECT_EQ(m.descriptions, 4);  // the val creative is not fitted

  // Probabilities at the chosen alpha; a category never seen is uniform.
  const double a = m.alpha;
  EXPECT_NEAR(m.scene_probability(0, 0), (2 + a) / (3 + a * S), 1e-12);
  EXPECT_NEAR(m.scene_probability(0, 7), a / (3 + a * S), 1e-12);
  EXPECT_NEAR(m.style_probability(0, 3), (1 + a) / (3 + a * T), 1e-12);
  EXPECT_NEAR(m.scene_probability(1, 5), (1 + a) / (1 + a * S), 1e-12);
  EXPECT_NEAR(m.scene_probability(9, 3), 1 / S, 1e-12);
  EXPECT_NEAR(m.style_probability(9, 3), 1 / T, 1e-12);
  EXPECT_EQ(m.to_json()["alpha"], a);
}

TEST(DesignerCountModel, MatchProbability) {
  // Nearly no smoothing: the empirical product of the scene (2/3, 1/3) and style (2/3, 1/3)
  // frequencies of category 0, over its four (scene, style) pairs.
  const auto m = fit_designer_count_model(small_log(), "train", {1e-9});
  for (double threshold : {0.3, 0.5, 0.7}) {
    double expected = 0;
    const double ps[] = {2.0 / 3, 1.0 / 3}, pt[] = {2.0 / 3, 1.0 / 3};
    const int scenes[] = {0, 1}, styles[] = {2, 3};
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        if (match_of(0, scenes[i], styles[j]) >= threshold) expected += ps[i] * pt[j];
    EXPECT_NEAR(m.match_probability(0, threshold), expected, 1e-6) << threshold;
  }
  // A category never seen draws every pair alike: the share of matching pairs.
  int matching = 0;
  for (int s = 0; s < world::kNumScenes; ++s)
    for (int t = 0; t < world::kNumStyles; ++t) matching += match_of(9, s, t) >= 0.5;
  EXPECT_NEAR(m.match_probability(9, 0.5),
              matching / static_cast<double>(world::kNumScenes * world::kNumStyles), 1e-12);
  EXPECT_NEAR(m.match_probability(0, 0.0), 1.0, 1e-9);  // every pair scores >= 0
  EXPECT_EQ(m.match_probability(0, 1.01), 0.0);
}

TEST(DesignerCountModel, BadInputIsAnError) {
  const auto d = small_log();
  EXPECT_THAT(error_of([&] { fit_designer_count_model(d, "test"); }),
              HasSubstr("no creatives in split 'test'"));
  EXPECT_THAT(error_of([&] {
                fit_designer_count_model(d, "train", {0.5, 0.0});
              }),
              HasSubstr("alpha must be > 0"));
  EXPECT_THAT(error_of([&] { fit_designer_count_model(d, "train", {}); }), HasSubstr("no alpha"));
  auto unknown = d;
  unknown.creatives[1].category = "hovercraft";
  EXPECT_THAT(error_of([&] { fit_designer_count_model(unknown, "train"); }),
              HasSubstr("creative a2 has unknown category 'hovercraft'"));
  auto no_scene = d;
  no_scene.creatives[2].description = "soft minimal";
  EXPECT_THAT(error_of([&] { fit_designer_count_model(no_scene, "train"); }),
              HasSubstr("creative a3 has no scene or style"));
}
