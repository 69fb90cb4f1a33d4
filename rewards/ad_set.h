// Building the reward models' inputs from a dataset: the evaluation pairs of a split, the training
// set of a split, the text-free (`public`) view of a dataset, and composite images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "datasets/io/records.h"
#include "rewards/reward_model.h"

namespace caig::rewards {

// The split of a creative: its own, or (for real data without splits) one derived from the
// product id, about 80 / 10 / 10 train / val / test, so that no product is in two splits.
std::string split_of(const data::CreativeRecord& c);

// The ads of the given creatives with their images (decoded on `threads` threads; 0: all cores).
// A missing, corrupt or wrongly sized image is an Error naming the creative and the file.
AdSet make_ad_set(const data::Dataset& d, const std::vector<int64_t>& creatives, int64_t image_size,
                  int threads = 0);

// The creatives of `split` with their counts, the dataset's pairs among them, and their products.
// A pair naming an unknown creative, or creatives of two products, is an Error.
TrainingSet make_training_set(const data::Dataset& d, const std::string& split, int64_t image_size);

// The evaluation pairs of `split`: only the ads that appear in them are loaded.
struct EvalSet {
  AdSet ads;
  std::vector<PairIndex> pairs;
  std::vector<int> labels;       // observed: 0 left better, 1 right
  std::vector<int> true_labels;  // by true CTR: 0 left, 1 right, 2 tie, -1 unknown
  std::vector<std::string> left_ids, right_ids, product_ids, categories;
};
EvalSet make_eval_set(const data::Dataset& d, const std::string& split, int64_t image_size);

// The same dataset as images and counts only (the `public` variant): titles, attributes,
// descriptions and slots removed, has_text false.
data::Dataset without_text(data::Dataset d);

// Float [B, 3, H, W] in [0, 1] of the rows `index` of uint8 images, on `device`.
at::Tensor float_images(const at::Tensor& images, const std::vector<int64_t>& index,
                        const std::string& device);
// The two ads of each pair side by side, left | right: [B, 3, H, 2W] float in [0, 1].
at::Tensor composite_images(const at::Tensor& images, const std::vector<PairIndex>& pairs,
                            const std::string& device);

}  // namespace caig::rewards
