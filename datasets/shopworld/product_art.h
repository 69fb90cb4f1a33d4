// Procedural product cut-outs: the category's shape family drawn in the product's colour.
#pragma once

#include <cstdint>

#include <opencv2/core.hpp>

#include "datasets/shopworld/catalog.h"

namespace caig::world {

// RGBA product image (CV_8UC4, OpenCV channel order B, G, R, A) of size x size pixels, with shading
// and detail; alpha is the product mask (255 inside, 0 outside, anti-aliased edge). `seed` varies
// small details (proportions, detail placement) between products of one category.
cv::Mat draw_product(const Product& product, int size, uint64_t seed);

}  // namespace caig::world
