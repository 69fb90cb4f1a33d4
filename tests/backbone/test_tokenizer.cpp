// Tokenizer and options: torch-free, so this file compiles quickly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/grammar.h"
#include "harness/error.h"
#include "methods/backbone/options.h"
#include "methods/backbone/tokenizer.h"

namespace caig::backbone {
namespace {

TEST(Tokenizer, SpecialsHaveFixedIds) {
  const auto tok = Tokenizer::from_world_vocabulary();
  EXPECT_EQ(tok.id(kPad), tok.pad_id());
  EXPECT_EQ(tok.id(kBos), tok.bos_id());
  EXPECT_EQ(tok.id(kEos), tok.eos_id());
  EXPECT_EQ(tok.id(kUnk), tok.unk_id());
  EXPECT_EQ(tok.id(kImage), tok.image_id());
  for (auto t : task_tokens()) EXPECT_TRUE(tok.is_special(tok.id(t))) << t;
  EXPECT_FALSE(tok.is_special(tok.id("gym")));
  const auto info = tok.vocab_info();
  EXPECT_EQ(info.size, tok.size());
  EXPECT_EQ(info.eos_id, tok.eos_id());
}

TEST(Tokenizer, RoundTripsDescriptionsAndTitles) {
  const auto tok = Tokenizer::from_world_vocabulary();
  int64_t unknown = 0;
  const std::string desc = "bright dynamic gym scene, orange tones, geometric shapes";
  const auto ids = tok.encode(desc, &unknown);
  EXPECT_EQ(unknown, 0);
  EXPECT_EQ(tok.decode(ids), "bright dynamic gym scene orange tones geometric shapes");
  EXPECT_EQ(world::parse_description(tok.decode(ids)).background,
            world::parse_description(desc).background);

  // Every category's title words, in every colour, material, audience and price tier.
  world::Product p;
  for (int c = 0; c < static_cast<int>(world::categories().size()); ++c) {
    p.category = c;
    p.colour = c % static_cast<int>(world::colour_names().size());
    p.material = c % static_cast<int>(world::material_names().size());
    p.audience = c % 4;
    p.price_tier = c % 3;
    const auto title = p.title();
    const auto title_ids = tok.encode(title, &unknown);
    EXPECT_EQ(unknown, 0) << title;
    std::string joined;
    for (const auto& w : world::split_words(title)) joined += (joined.empty() ? "" : " ") + w;
    EXPECT_EQ(tok.decode(title_ids), joined);
  }
  tok.encode(kJudgeInstruction, &unknown);
  tok.encode("colour material audience price_tier brand_tier rating generic known top", &unknown);
  EXPECT_EQ(unknown, 0);
}

TEST(Tokenizer, RatingsKeepTheDecimalPoint) {
  const auto tok = Tokenizer::from_world_vocabulary();
  int64_t unknown = 0;
  EXPECT_EQ(tok.decode(tok.encode("rating 4.5", &unknown)), "rating 4 . 5");
  EXPECT_EQ(tok.decode(tok.encode("rating 10", &unknown)), "rating 1 0");
  EXPECT_EQ(unknown, 0);
}

TEST(Tokenizer, CountsUnknownWords) {
  const auto tok = Tokenizer::from_world_vocabulary();
  int64_t unknown = 0;
  const auto ids = tok.encode("bright zebra gym quokka", &unknown);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(unknown, 2);
  EXPECT_EQ(ids[1], tok.unk_id());
  EXPECT_EQ(ids[3], tok.unk_id());
  EXPECT_EQ(tok.decode(ids), "bright <unk> gym <unk>");
  tok.encode("the zebra", &unknown);
  EXPECT_EQ(unknown, 3);  // accumulates
  EXPECT_NO_THROW(tok.encode("zebra"));
}

TEST(Tokenizer, DecodeSkipsSpecialsOnRequest) {
  const auto tok = Tokenizer::from_world_vocabulary();
  std::vector<int64_t> ids = {tok.bos_id(), tok.id(kTaskPrompt), tok.id("cozy"), tok.eos_id(),
                              tok.pad_id()};
  EXPECT_EQ(tok.decode(ids), "cozy");
  EXPECT_EQ(tok.decode(ids, false), "<bos> <prompt> cozy <eos> <pad>");
  EXPECT_THROW(tok.decode({tok.size()}), caig::Error);
  EXPECT_THROW(tok.id("zebra"), caig::Error);
}

TEST(Tokenizer, JsonRoundTripAndValidation) {
  const auto tok = Tokenizer::from_world_vocabulary();
  const auto back = Tokenizer::from_json(tok.to_json());
  EXPECT_EQ(back.tokens(), tok.tokens());
  EXPECT_EQ(back.size(), tok.size());
  EXPECT_EQ(back.id("gym"), tok.id("gym"));
  EXPECT_TRUE(back.is_special(back.id(kTaskJudge)));

  auto swapped = tok.to_json();
  std::swap(swapped["tokens"][0], swapped["tokens"][2]);
  EXPECT_THROW(Tokenizer::from_json(swapped), caig::Error);
  auto duplicate = tok.to_json();
  duplicate["tokens"].push_back("gym");
  EXPECT_THROW(Tokenizer::from_json(duplicate), caig::Error);
  EXPECT_THROW(Tokenizer::from_json(nlohmann::json::array()), caig::Error);
}

TEST(BackboneOptions, DefaultsAreTheCpuPreset) {
  BackboneOptions o;
  EXPECT_EQ(o.image_size, 64);
  EXPECT_EQ(o.patch, 8);
  EXPECT_EQ(o.d_model, 128);
  EXPECT_EQ(o.heads, 4);
  EXPECT_EQ(o.vision_layers, 2);
  EXPECT_EQ(o.lm_layers, 4);
  EXPECT_EQ(o.max_grid_w, 16);
  EXPECT_NO_THROW(o.validate());
}

TEST(BackboneOptions, JsonIsStrict) {
  BackboneOptions o;
  o.d_model = 64;
  o.use_sdpa = false;
  o.dropout = 0.25;
  const auto back = BackboneOptions::from_json(o.to_json());
  EXPECT_EQ(back.to_json(), o.to_json());

  auto j = o.to_json();
  j["d_modle"] = 3;
  try {
    BackboneOptions::from_json(j);
    FAIL() << "unknown key accepted";
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("d_modle"), std::string::npos) << e.what();
  }
  auto wrong_type = o.to_json();
  wrong_type["heads"] = "four";
  EXPECT_THROW(BackboneOptions::from_json(wrong_type), caig::Error);
  auto bad = o.to_json();
  bad["heads"] = 5;  // 64 % 5 != 0
  EXPECT_THROW(BackboneOptions::from_json(bad), caig::Error);
  auto partial = nlohmann::json{{"lm_layers", 1}};
  EXPECT_EQ(BackboneOptions::from_json(partial).lm_layers, 1);
}

TEST(BackboneOptions, ValidateNamesTheField) {
  BackboneOptions o;
  o.max_grid_h = 4;  // 64 / 8 = 8 rows needed
  try {
    o.validate();
    FAIL();
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_grid_h"), std::string::npos) << e.what();
  }
  o = BackboneOptions();
  o.patch = 7;
  EXPECT_THROW(o.validate(), caig::Error);
}

}  // namespace
}  // namespace caig::backbone
