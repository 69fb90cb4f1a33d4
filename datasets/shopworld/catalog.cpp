#include "datasets/shopworld/catalog.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace caig::world {

namespace {

constexpr double kPrimary = 1.0, kSecondary = 0.8, kPartial = 0.4, kUnrelated = 0.05;
constexpr double kStyleFit = 1.0, kStyleOther = 0.3;

enum Material : int {
  kPlastic, kMetal, kGlass, kLeather, kCotton, kWool, kDenim, kRubber, kCeramic, kWood, kPaper,
  kSilk, kNylon, kAluminium
};

struct CategorySpec {
  const char* name;
  const char* group;
  Shape shape;
  double base_ctr;
  double traffic_weight;
  std::vector<int> primary, secondary, partial;  // scenes
  std::vector<int> styles;                       // compatible styles
  std::vector<int> materials;
};

// Hand-written so a reader can check every match by eye; base CTRs span 1%..6%.
const std::vector<CategorySpec>& specs() {
  static const std::vector<CategorySpec> s = {
      // electronics
      {"smartphone", "electronics", Shape::Device, 0.024, 9.0, {kStudio, kOffice}, {kWoodenDesk, kNightCity}, {kCityStreet, kMarbleTable}, {kMinimal, kTech, kLuxury}, {kGlass, kAluminium, kPlastic}},
      {"laptop", "electronics", Shape::Flat, 0.016, 4.0, {kOffice, kWoodenDesk}, {kStudio, kCafe}, {kLivingRoom}, {kMinimal, kTech}, {kAluminium, kPlastic}},
      {"headphones", "electronics", Shape::Round, 0.031, 3.5, {kStudio, kGym}, {kNightCity, kRunningTrack}, {kCityStreet, kBedroom}, {kTech, kDynamic, kMinimal}, {kPlastic, kLeather, kMetal}},
      {"smartwatch", "electronics", Shape::Device, 0.027, 2.5, {kGym, kRunningTrack}, {kStudio, kOffice}, {kMountain, kCityStreet}, {kTech, kDynamic, kLuxury}, {kAluminium, kRubber, kMetal}},
      {"camera", "electronics", Shape::Box, 0.019, 1.5, {kMountain, kCityStreet}, {kStudio, kForest}, {kBeach, kSnow}, {kTech, kNatural, kMinimal}, {kMetal, kPlastic}},
      {"bluetooth speaker", "electronics", Shape::Tall, 0.029, 1.8, {kLivingRoom, kBeach}, {kNightCity, kStudio}, {kBedroom, kCafe}, {kTech, kFestive, kDynamic}, {kPlastic, kNylon, kAluminium}},
      {"game controller", "electronics", Shape::Device, 0.038, 1.6, {kLivingRoom, kNightCity}, {kBedroom, kStudio}, {kOffice}, {kTech, kDynamic, kFestive}, {kPlastic, kRubber}},
      // apparel
      {"t-shirt", "apparel", Shape::Garment, 0.042, 8.0, {kCityStreet, kBeach}, {kStudio, kRunningTrack}, {kGym, kLivingRoom}, {kMinimal, kDynamic, kNatural}, {kCotton, kNylon}},
      {"dress", "apparel", Shape::Garment, 0.051, 5.0, {kFlowerGarden, kCityStreet}, {kStudio, kBeach}, {kCafe, kMarbleTable}, {kLuxury, kNatural, kFestive}, {kSilk, kCotton}},
      {"jacket", "apparel", Shape::Garment, 0.033, 3.0, {kMountain, kSnow}, {kCityStreet, kForest}, {kStudio, kNightCity}, {kNatural, kDynamic, kMinimal}, {kNylon, kLeather, kDenim}},
      {"jeans", "apparel", Shape::Garment, 0.036, 3.2, {kCityStreet, kStudio}, {kCafe, kLivingRoom}, {kBeach}, {kMinimal, kCozy, kDynamic}, {kDenim, kCotton}},
      {"sweater", "apparel", Shape::Garment, 0.030, 2.2, {kLivingRoom, kSnow}, {kCafe, kBedroom}, {kForest, kMountain}, {kCozy, kNatural, kFestive}, {kWool, kCotton}},
      // footwear
      {"running shoe", "footwear", Shape::Shoe, 0.046, 7.5, {kRunningTrack, kGym}, {kCityStreet, kMountain}, {kStudio, kForest}, {kDynamic, kTech, kMinimal}, {kNylon, kRubber, kLeather}},
      {"sneaker", "footwear", Shape::Shoe, 0.044, 4.0, {kCityStreet, kStudio}, {kRunningTrack, kNightCity}, {kGym}, {kDynamic, kMinimal, kFestive}, {kLeather, kCotton, kRubber}},
      {"boot", "footwear", Shape::Shoe, 0.026, 2.0, {kMountain, kSnow}, {kForest, kCityStreet}, {kStudio}, {kNatural, kCozy, kLuxury}, {kLeather, kRubber}},
      {"high heel", "footwear", Shape::Shoe, 0.048, 2.4, {kMarbleTable, kStudio}, {kNightCity, kFlowerGarden}, {kCityStreet, kCafe}, {kLuxury, kMinimal, kFestive}, {kLeather, kSilk}},
      {"sandal", "footwear", Shape::Shoe, 0.035, 1.7, {kBeach, kWaterSplash}, {kFlowerGarden, kStudio}, {kCityStreet}, {kNatural, kMinimal, kFestive}, {kLeather, kRubber}},
      // beauty
      {"lipstick", "beauty", Shape::Tall, 0.055, 3.8, {kMarbleTable, kStudio}, {kFlowerGarden, kBedroom}, {kWaterSplash, kNightCity}, {kLuxury, kMinimal, kFestive}, {kMetal, kPlastic}},
      {"perfume", "beauty", Shape::Bottle, 0.058, 3.0, {kMarbleTable, kFlowerGarden}, {kStudio, kWaterSplash}, {kBedroom, kNightCity}, {kLuxury, kNatural, kMinimal}, {kGlass}},
      {"face cream", "beauty", Shape::Cup, 0.050, 6.5, {kWaterSplash, kMarbleTable}, {kStudio, kFlowerGarden}, {kBedroom}, {kNatural, kLuxury, kMinimal}, {kGlass, kPlastic}},
      {"shampoo", "beauty", Shape::Bottle, 0.037, 2.6, {kWaterSplash, kStudio}, {kFlowerGarden, kBedroom}, {kForest}, {kNatural, kMinimal, kCozy}, {kPlastic}},
      {"nail polish", "beauty", Shape::Bottle, 0.053, 1.2, {kStudio, kMarbleTable}, {kFlowerGarden, kBedroom}, {kCafe}, {kFestive, kLuxury, kMinimal}, {kGlass}},
      // food & drink
      {"coffee", "food & drink", Shape::Bag, 0.028, 2.8, {kCafe, kKitchenCounter}, {kWoodenDesk, kOffice}, {kMountain, kLivingRoom}, {kCozy, kNatural, kMinimal}, {kPaper}},
      {"tea", "food & drink", Shape::Box, 0.022, 1.9, {kCafe, kKitchenCounter}, {kFlowerGarden, kWoodenDesk}, {kForest, kMountain}, {kNatural, kCozy, kMinimal}, {kPaper, kMetal}},
      {"snack", "food & drink", Shape::Bag, 0.041, 7.0, {kKitchenCounter, kLivingRoom}, {kCafe, kStudio}, {kOffice, kBeach}, {kFestive, kDynamic, kCozy}, {kPaper, kPlastic}},
      {"wine", "food & drink", Shape::Bottle, 0.018, 1.4, {kMarbleTable, kCafe}, {kKitchenCounter, kNightCity}, {kFlowerGarden, kLivingRoom}, {kLuxury, kCozy, kFestive}, {kGlass}},
      {"juice", "food & drink", Shape::Bottle, 0.034, 2.1, {kWaterSplash, kKitchenCounter}, {kBeach, kFlowerGarden}, {kGym, kCafe}, {kNatural, kFestive, kDynamic}, {kGlass, kPlastic}},
      {"chocolate", "food & drink", Shape::Flat, 0.047, 2.3, {kCafe, kKitchenCounter}, {kMarbleTable, kLivingRoom}, {kSnow, kStudio}, {kLuxury, kFestive, kCozy}, {kPaper}},
      // home
      {"desk lamp", "home", Shape::Tall, 0.015, 1.3, {kWoodenDesk, kOffice}, {kBedroom, kLivingRoom}, {kStudio}, {kMinimal, kTech, kCozy}, {kMetal, kPlastic}},
      {"mug", "home", Shape::Cup, 0.025, 2.0, {kKitchenCounter, kCafe}, {kWoodenDesk, kOffice}, {kLivingRoom, kSnow}, {kCozy, kMinimal, kNatural}, {kCeramic, kGlass}},
      {"pillow", "home", Shape::Flat, 0.021, 1.6, {kBedroom, kLivingRoom}, {kStudio}, {kCafe}, {kCozy, kMinimal, kNatural}, {kCotton, kSilk, kWool}},
      {"vase", "home", Shape::Tall, 0.013, 0.9, {kLivingRoom, kFlowerGarden}, {kMarbleTable, kWoodenDesk}, {kStudio, kCafe}, {kNatural, kMinimal, kLuxury}, {kCeramic, kGlass}},
      {"cookware", "home", Shape::Round, 0.017, 1.7, {kKitchenCounter}, {kMarbleTable, kWoodenDesk}, {kCafe, kStudio}, {kMinimal, kCozy, kTech}, {kMetal, kCeramic, kAluminium}},
      // sports & outdoor
      {"yoga mat", "sports & outdoor", Shape::Tall, 0.032, 1.9, {kGym, kBeach}, {kLivingRoom, kForest}, {kStudio, kMountain}, {kNatural, kMinimal, kDynamic}, {kRubber}},
      {"dumbbell", "sports & outdoor", Shape::Flat, 0.023, 1.5, {kGym}, {kStudio, kLivingRoom}, {kRunningTrack}, {kDynamic, kTech, kMinimal}, {kMetal, kRubber}},
      {"tent", "sports & outdoor", Shape::Box, 0.012, 0.8, {kForest, kMountain}, {kSnow, kBeach}, {kFlowerGarden}, {kNatural, kDynamic}, {kNylon}},
      {"bicycle helmet", "sports & outdoor", Shape::Round, 0.020, 0.9, {kCityStreet, kMountain}, {kForest, kRunningTrack}, {kStudio}, {kDynamic, kTech, kNatural}, {kPlastic}},
      {"water bottle", "sports & outdoor", Shape::Bottle, 0.030, 2.0, {kGym, kMountain}, {kRunningTrack, kForest}, {kOffice, kBeach}, {kDynamic, kNatural, kMinimal}, {kAluminium, kPlastic}},
      // kids
      {"toy car", "kids", Shape::Box, 0.045, 1.8, {kLivingRoom, kBedroom}, {kCityStreet, kStudio}, {kRunningTrack}, {kFestive, kDynamic, kCozy}, {kPlastic, kMetal}},
      {"plush toy", "kids", Shape::Round, 0.049, 1.6, {kBedroom, kLivingRoom}, {kFlowerGarden, kStudio}, {kSnow}, {kCozy, kFestive, kNatural}, {kCotton, kWool}},
      {"building blocks", "kids", Shape::Box, 0.039, 1.4, {kLivingRoom, kStudio}, {kBedroom, kOffice}, {kCityStreet}, {kFestive, kTech, kMinimal}, {kPlastic, kWood}},
      {"school backpack", "kids", Shape::Bag, 0.031, 1.2, {kCityStreet, kOffice}, {kBedroom, kForest}, {kStudio, kMountain}, {kDynamic, kFestive, kMinimal}, {kNylon, kCotton}},
      // accessories
      {"handbag", "accessories", Shape::Bag, 0.043, 2.9, {kMarbleTable, kCityStreet}, {kStudio, kCafe}, {kNightCity, kFlowerGarden}, {kLuxury, kMinimal, kFestive}, {kLeather, kNylon}},
      {"sunglasses", "accessories", Shape::Flat, 0.040, 1.6, {kBeach, kCityStreet}, {kWaterSplash, kMountain}, {kSnow, kStudio}, {kLuxury, kDynamic, kMinimal}, {kPlastic, kMetal}},
  };
  return s;
}

}  // namespace

std::string_view shape_name(Shape s) {
  static const char* kNames[kNumShapes] = {"bottle", "box",  "device", "shoe", "garment",
                                           "round",  "tall", "flat",   "bag",  "cup"};
  return kNames[static_cast<int>(s)];
}

const std::vector<Category>& categories() {
  static const std::vector<Category> cats = [] {
    std::vector<Category> out;
    double total = 0;
    for (const auto& s : specs()) total += s.traffic_weight;
    for (const auto& s : specs()) {
      Category c;
      c.name = s.name;
      c.group = s.group;
      c.shape = s.shape;
      c.base_ctr = s.base_ctr;
      c.traffic_share = s.traffic_weight / total;
      c.scene_affinity.fill(kUnrelated);
      for (int sc : s.partial) c.scene_affinity[sc] = kPartial;
      for (int sc : s.secondary) c.scene_affinity[sc] = kSecondary;
      for (int sc : s.primary) c.scene_affinity[sc] = kPrimary;
      c.style_compat.fill(kStyleOther);
      for (int st : s.styles) c.style_compat[st] = kStyleFit;
      c.materials = s.materials;
      out.push_back(std::move(c));
    }
    if (out.size() != 44) throw std::logic_error("catalog must have 44 categories");
    return out;
  }();
  return cats;
}

int category_index(const std::string& name) {
  const auto& cats = categories();
  for (size_t i = 0; i < cats.size(); ++i)
    if (cats[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<int> common_categories() {
  const auto& cats = categories();
  std::vector<int> idx(cats.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int a, int b) { return cats[a].traffic_share > cats[b].traffic_share; });
  idx.resize(5);
  return idx;
}

const std::vector<std::string>& colour_names() {
  static const std::vector<std::string> n = {"red",  "orange", "yellow", "green", "blue",
                                             "navy", "purple", "pink",   "white", "black",
                                             "grey", "brown",  "beige",  "silver", "gold"};
  return n;
}

Rgb colour_rgb(int colour) {
  static const Rgb kRgb[] = {{210, 35, 45},   {245, 140, 35},  {245, 215, 50},  {50, 165, 80},
                             {45, 110, 215},  {25, 40, 95},    {130, 60, 170},  {245, 140, 185},
                             {245, 245, 240}, {25, 25, 28},    {130, 130, 135}, {120, 75, 40},
                             {220, 200, 165}, {190, 195, 200}, {215, 175, 60}};
  if (colour < 0 || colour >= static_cast<int>(std::size(kRgb)))
    throw std::out_of_range("colour_rgb: bad index");
  return kRgb[colour];
}

const std::vector<std::string>& material_names() {
  static const std::vector<std::string> n = {"plastic", "metal",   "glass", "leather", "cotton",
                                             "wool",    "denim",   "rubber", "ceramic", "wood",
                                             "paper",   "silk",    "nylon", "aluminium"};
  return n;
}
const std::vector<std::string>& audience_names() {
  static const std::vector<std::string> n = {"men", "women", "kids", "unisex"};
  return n;
}
const std::vector<std::string>& price_tier_names() {
  static const std::vector<std::string> n = {"budget", "mid", "premium"};
  return n;
}
const std::vector<std::string>& brand_tier_names() {
  static const std::vector<std::string> n = {"generic", "known", "top"};
  return n;
}

std::string Product::title() const {
  // Mid-tier products carry no price word, as real titles rarely say "mid-range".
  std::string t;
  if (price_tier != 1) t += price_tier_names()[price_tier] + " ";
  t += colour_names()[colour] + " " + material_names()[material] + " " +
       categories()[category].name + " for " + audience_names()[audience];
  return t;
}

}  // namespace caig::world
