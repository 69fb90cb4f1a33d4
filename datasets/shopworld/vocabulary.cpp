#include "datasets/shopworld/vocabulary.h"

#include <stdexcept>

namespace caig::world {

namespace {
const std::vector<std::string> kScenePhrases = {
    "studio",      "marble table", "wooden desk",   "kitchen counter", "living room", "bedroom",
    "office",      "gym",          "running track", "beach",           "forest",      "mountain",
    "snow",        "city street",  "night city",    "flower garden",   "water splash", "cafe"};
const std::vector<std::string> kLightingPhrases = {"soft", "bright", "warm", "cold", "dramatic", "neon"};
const std::vector<std::string> kStylePhrases = {"minimal", "luxury", "natural", "dynamic",
                                                "festive", "cozy",   "tech"};
const std::vector<std::string> kPalettePhrases = {"white", "black",  "red",  "orange", "yellow",
                                                  "green", "blue",   "purple", "pink", "beige"};
const std::vector<std::string> kPropPhrases = {"petals", "leaves",   "ice",     "geometric shapes",
                                               "bokeh",  "confetti", "no props"};
const std::vector<std::string> kFillers = {"scene", "tones", "tone", "background", "with", "and",
                                           "a",     "in",    "the",  "setting"};
const std::array<Slot, kNumSlots> kAllSlots = {Slot::Scene, Slot::Lighting, Slot::Style,
                                               Slot::Palette, Slot::Prop};
}  // namespace

const std::vector<std::string>& slot_phrases(Slot slot) {
  switch (slot) {
    case Slot::Scene: return kScenePhrases;
    case Slot::Lighting: return kLightingPhrases;
    case Slot::Style: return kStylePhrases;
    case Slot::Palette: return kPalettePhrases;
    case Slot::Prop: return kPropPhrases;
  }
  throw std::logic_error("slot_phrases: bad slot");
}

int slot_size(Slot slot) { return static_cast<int>(slot_phrases(slot).size()); }

std::string_view slot_name(Slot slot) {
  switch (slot) {
    case Slot::Scene: return "scene";
    case Slot::Lighting: return "lighting";
    case Slot::Style: return "style";
    case Slot::Palette: return "palette";
    case Slot::Prop: return "prop";
  }
  return "?";
}

const std::array<Slot, kNumSlots>& all_slots() { return kAllSlots; }

Rgb palette_rgb(int palette) {
  static const Rgb kRgb[kNumPalettes] = {
      {236, 236, 232}, {28, 28, 32},   {200, 30, 40},  {240, 130, 30}, {240, 210, 40},
      {40, 160, 70},   {40, 90, 200},  {120, 50, 160}, {240, 120, 170}, {215, 190, 150}};
  if (palette < 0 || palette >= kNumPalettes) throw std::out_of_range("palette_rgb: bad index");
  return kRgb[palette];
}

const std::vector<std::string>& filler_words() { return kFillers; }

int Background::get(Slot s) const {
  switch (s) {
    case Slot::Scene: return scene;
    case Slot::Lighting: return lighting;
    case Slot::Style: return style;
    case Slot::Palette: return palette;
    case Slot::Prop: return prop;
  }
  return -1;
}

void Background::set(Slot s, int value) {
  switch (s) {
    case Slot::Scene: scene = value; break;
    case Slot::Lighting: lighting = value; break;
    case Slot::Style: style = value; break;
    case Slot::Palette: palette = value; break;
    case Slot::Prop: prop = value; break;
  }
}

bool Background::complete() const {
  return scene >= 0 && lighting >= 0 && style >= 0 && palette >= 0 && prop >= 0;
}

bool Background::operator==(const Background& o) const {
  return scene == o.scene && lighting == o.lighting && style == o.style && palette == o.palette &&
         prop == o.prop;
}

std::string describe(const Background& b) {
  if (!b.complete()) throw std::invalid_argument("describe: background has an empty slot");
  return kLightingPhrases[b.lighting] + " " + kStylePhrases[b.style] + " " + kScenePhrases[b.scene] +
         " scene, " + kPalettePhrases[b.palette] + " tones, " + kPropPhrases[b.prop];
}

}  // namespace caig::world
