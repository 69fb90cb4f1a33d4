// The background-description grammar's vocabulary: the five slots and their values.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace caig::world {

enum class Slot : int { Scene = 0, Lighting = 1, Style = 2, Palette = 3, Prop = 4 };
inline constexpr int kNumSlots = 5;

// Slot values in a fixed order; a Background stores indices into these lists.
enum Scene : int {
  kStudio, kMarbleTable, kWoodenDesk, kKitchenCounter, kLivingRoom, kBedroom, kOffice, kGym,
  kRunningTrack, kBeach, kForest, kMountain, kSnow, kCityStreet, kNightCity, kFlowerGarden,
  kWaterSplash, kCafe, kNumScenes
};
enum Lighting : int { kSoft, kBright, kWarm, kCold, kDramatic, kNeon, kNumLightings };
enum Style : int { kMinimal, kLuxury, kNatural, kDynamic, kFestive, kCozy, kTech, kNumStyles };
enum Palette : int {
  kWhite, kBlack, kRed, kOrange, kYellow, kGreen, kBlue, kPurple, kPink, kBeige, kNumPalettes
};
enum Prop : int { kPetals, kLeaves, kIce, kGeometricShapes, kBokeh, kConfetti, kNoProps, kNumProps };

// One phrase per value (multi-word phrases allowed), as written in descriptions.
const std::vector<std::string>& slot_phrases(Slot slot);
int slot_size(Slot slot);
std::string_view slot_name(Slot slot);
const std::array<Slot, kNumSlots>& all_slots();

// Palette colours in RGB; used by the renderer and by the click model's saturation term.
struct Rgb {
  unsigned char r = 0, g = 0, b = 0;
};
Rgb palette_rgb(int palette);

// Filler words that carry no slot ("scene", "tones", ","): allowed, never reported as unknown.
const std::vector<std::string>& filler_words();

// A parsed background; -1 marks a slot the description did not fill.
struct Background {
  int scene = -1, lighting = -1, style = -1, palette = -1, prop = -1;
  int get(Slot s) const;
  void set(Slot s, int value);
  bool complete() const;
  bool operator==(const Background& o) const;
};

// Canonical text of a complete background, e.g.
// "bright dynamic gym scene, orange tones, geometric shapes".
std::string describe(const Background& b);

}  // namespace caig::world
