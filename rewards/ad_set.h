// Building the reward models' inputs from a dataset: the evaluation pairs of a split, the training
// set of a split, the text-free (`public`) view of a dataset, and composite images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "datasets/io/records.h"
#include "rewards/reward_model.h"

namespace caig::rewards {

// The split of a creative; none is an Error (real data gets its splits from
// data::assign_product_splits before its sets are built).
const std::string& split_of(const data::CreativeRecord& c);

// The ads of the given creatives with their images (decoded on `threads` threads; 0: all cores).
// A simulated dataset's images must be image_size square; a real dataset's may have any size
// and aspect and are letterboxed (harness/image_tensor.h), through the cache below. A missing or
// corrupt image, or a wrongly sized one of a simulated dataset, is an Error naming the creative
// and the file.
AdSet make_ad_set(const data::Dataset& d, const std::vector<int64_t>& creatives, int64_t image_size,
                  int threads = 0);

// Every creative's image of `d` letterboxed to image_size, row i for creative i: decoded once per
// dataset and size, then read from an entry in `cache_dir` (harness/tensor_cache.h; empty: no
// cache) keyed by the image files' paths, sizes and times.
at::Tensor letterboxed_dataset_images(const data::Dataset& d, int64_t image_size, int threads,
                                      const std::filesystem::path& cache_dir);

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
// descriptions removed, and the slots of real data (a simulated creative keeps its true slots,
// hidden truth like its true CTR), has_text false.
data::Dataset without_text(data::Dataset d);

// Float [B, 3, H, W] in [0, 1] of the rows `index` of uint8 images, on `device`.
at::Tensor float_images(const at::Tensor& images, const std::vector<int64_t>& index,
                        const std::string& device);
// The two ads of each pair side by side, left | right: [B, 3, H, 2W] float in [0, 1].
at::Tensor composite_images(const at::Tensor& images, const std::vector<PairIndex>& pairs,
                            const std::string& device);

}  // namespace caig::rewards
