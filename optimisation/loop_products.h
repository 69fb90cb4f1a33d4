// The products the CTR-driven loop writes for, with everything each party sees of them: the prompt
// model's view (fields and cut-out on grey), the renderer's RGBA cut-out, the reward model's
// AdInfo, and the world's product (for the gold reward), read once from a dataset.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "datasets/io/records.h"
#include "prompts/prompt_model.h"
#include "rewards/reward_model.h"

namespace caig::world {
class ShopWorld;
struct Product;
}  // namespace caig::world

namespace caig::optimisation {

struct LoopProduct {
  PromptProduct prompt;  // fields and the cut-out composited on grey, [3, H, W] float
  cv::Mat rgba;          // the cut-out (CV_8UC4, OpenCV's BGRA) the renderer places
  AdInfo ad;             // the product fields a reward model sees
  const world::Product* world = nullptr;  // null for real data
};

// The world a ShopWorld dataset was generated from, rebuilt from its world.json; null for real
// data (no world).
std::unique_ptr<world::ShopWorld> dataset_world(const data::Dataset& d);

// At most n products of `split` (n <= 0: all), in the seeded order of
// pretraining::distinct_product_creatives. Each needs a product cut-out (a `product_image`); one
// that has none, or a file that is missing, corrupt or not `image_size` square, is an Error
// naming it.
std::vector<LoopProduct> loop_products(const data::Dataset& d, const std::string& split, int64_t n,
                                       uint64_t seed, int64_t image_size,
                                       const world::ShopWorld* w);

}  // namespace caig::optimisation
