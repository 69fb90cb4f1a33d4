// A contact sheet of the renderer for people: every scene, lighting, style, palette and prop value
// rendered around real products, labelled, in one BGR image.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "datasets/shopworld/catalog.h"

namespace caig::world {

// Rows: the products' cut-outs on grey; one row per scene (each cell a different product with other
// slots varied); then, for lighting, style, palette and prop, a row with every value on a neutral
// background and a row with every value among varied other slots, each cell labelled with its
// value. Ads are rendered at 64 px (the CPU preset) and enlarged to `cell_size` (>= 32) with
// nearest-neighbour so the pixels a model sees stay visible. CV_8UC3.
cv::Mat make_contact_sheet(const std::vector<Product>& products, int cell_size, uint64_t seed);

}  // namespace caig::world
