// ShopWorld's catalog: 44 categories with their fixed properties, and the product attribute lists.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/shopworld/vocabulary.h"

namespace caig::world {

// Shape family: how the renderer draws a product of the category.
enum class Shape : int { Bottle, Box, Device, Shoe, Garment, Round, Tall, Flat, Bag, Cup };
inline constexpr int kNumShapes = 10;
std::string_view shape_name(Shape s);

struct Category {
  std::string name;      // "running shoe"
  std::string group;     // "footwear"
  Shape shape;
  double base_ctr;       // 1%..6%
  double traffic_share;  // sums to 1 over the catalog
  // Scene affinity in [0, 1] for every scene; the matching scenes have affinity >= 0.7.
  std::array<double, kNumScenes> scene_affinity;
  // Style compatibility in [0, 1] for every style.
  std::array<double, kNumStyles> style_compat;
  std::vector<int> materials;  // indices into material_names()
};

// The fixed 44-category catalog (world parameters drawn from the seed live in ShopWorld).
const std::vector<Category>& categories();
int category_index(const std::string& name);  // -1 when unknown

// The five categories with the highest traffic share ("common" in the paper's online test).
std::vector<int> common_categories();

// Product attribute vocabularies.
const std::vector<std::string>& colour_names();
Rgb colour_rgb(int colour);
const std::vector<std::string>& material_names();
const std::vector<std::string>& audience_names();    // men, women, kids, unisex
const std::vector<std::string>& price_tier_names();  // budget, mid, premium
const std::vector<std::string>& brand_tier_names();  // generic, known, top

struct Product {
  int64_t id = 0;
  int category = 0;
  int colour = 0;
  int material = 0;
  int audience = 0;
  int price_tier = 0;
  int brand_tier = 0;
  double rating = 4.0;  // 1..5, one decimal
  std::string title() const;  // "premium red leather running shoe for women"
};

}  // namespace caig::world
