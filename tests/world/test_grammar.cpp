#include <gtest/gtest.h>

#include "datasets/shopworld/grammar.h"
#include "datasets/shopworld/vocabulary.h"

using namespace caig::world;

TEST(Grammar, CanonicalDescriptionRoundTripsForEveryValue) {
  for (Slot s : all_slots())
    for (int v = 0; v < slot_size(s); ++v) {
      Background b{kGym, kBright, kDynamic, kOrange, kGeometricShapes};
      b.set(s, v);
      const auto parsed = parse_description(describe(b));
      EXPECT_TRUE(parsed.well_formed()) << describe(b) << ": " << parsed.problems();
      EXPECT_TRUE(parsed.unknown.empty()) << describe(b);
      EXPECT_EQ(parsed.background, b) << describe(b);
    }
}

TEST(Grammar, DesignExample) {
  const auto p = parse_description("bright dynamic gym scene, orange tones, geometric shapes");
  EXPECT_TRUE(p.well_formed());
  EXPECT_EQ(p.background.scene, kGym);
  EXPECT_EQ(p.background.lighting, kBright);
  EXPECT_EQ(p.background.style, kDynamic);
  EXPECT_EQ(p.background.palette, kOrange);
  EXPECT_EQ(p.background.prop, kGeometricShapes);
  EXPECT_EQ(p.problems(), "");
}

TEST(Grammar, WordOrderAndCaseAreFree) {
  const auto p = parse_description("Geometric Shapes; ORANGE tones - gym, Dynamic bright");
  EXPECT_TRUE(p.well_formed());
  EXPECT_EQ(p.background, (Background{kGym, kBright, kDynamic, kOrange, kGeometricShapes}));
}

TEST(Grammar, LongestPhraseWins) {
  const auto p = parse_description("neon tech night city scene, blue tones, no props");
  EXPECT_TRUE(p.well_formed()) << p.problems();
  EXPECT_EQ(p.background.scene, kNightCity);
  EXPECT_EQ(p.background.prop, kNoProps);
}

TEST(Grammar, ReportsMissingRepeatedAndUnknown) {
  const auto p = parse_description("bright bright gym scene with sparkles, orange tones");
  EXPECT_FALSE(p.well_formed());
  ASSERT_EQ(p.repeated.size(), 1u);
  EXPECT_EQ(p.repeated[0], Slot::Lighting);
  EXPECT_EQ(p.missing, (std::vector<Slot>{Slot::Style, Slot::Prop}));
  EXPECT_EQ(p.unknown, (std::vector<std::string>{"sparkles"}));
  EXPECT_EQ(p.background.lighting, kBright);  // the first occurrence is kept
  EXPECT_EQ(p.background.style, -1);
  EXPECT_EQ(p.problems(), "missing style, prop; repeated lighting; unknown words 'sparkles'");
}

TEST(Grammar, RepeatedSlotWithDifferentValuesKeepsFirst) {
  const auto p = parse_description("soft minimal beach forest scene, red tones, ice");
  EXPECT_FALSE(p.well_formed());
  EXPECT_EQ(p.background.scene, kBeach);
  EXPECT_EQ(p.repeated, (std::vector<Slot>{Slot::Scene}));
}

TEST(Grammar, EmptyTextMissesEverySlot) {
  const auto p = parse_description("");
  EXPECT_EQ(p.missing.size(), 5u);
  EXPECT_FALSE(p.well_formed());
  EXPECT_THROW(describe(p.background), std::invalid_argument);
}

TEST(Grammar, VocabularySizesFollowTheDesign) {
  EXPECT_EQ(slot_size(Slot::Scene), 18);
  EXPECT_EQ(slot_size(Slot::Lighting), 6);
  EXPECT_EQ(slot_size(Slot::Style), 7);
  EXPECT_EQ(slot_size(Slot::Palette), 10);
  EXPECT_EQ(slot_size(Slot::Prop), 7);
}
