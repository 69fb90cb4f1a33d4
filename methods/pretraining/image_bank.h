// Every image a training run needs, decoded once into one uint8 tensor: the ads of the dataset and
// the products' cut-outs (composited on neutral grey, as the prompt model sees a product).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "datasets/io/records.h"

namespace caig::pretraining {

class ImageBank {
 public:
  // Reads every creative's `image` and `product_image` under the dataset root; a missing or
  // corrupt file, or one of another size than image_size, is an Error naming it.
  ImageBank(const data::Dataset& d, int64_t image_size);

  // Float images in [0, 1], [B, 3, H, W], RGB: the ad of each creative, or its product cut-out.
  at::Tensor batch(const std::vector<int64_t>& creatives, const std::vector<bool>& product) const;
  at::Tensor ads(const std::vector<int64_t>& creatives) const;
  int64_t image_size() const { return size_; }

 private:
  int64_t size_;
  at::Tensor ads_;                   // [N, 3, H, W] uint8, one per creative
  at::Tensor products_;              // [P, 3, H, W] uint8, one per distinct product image
  std::vector<int64_t> product_of_;  // creative -> row of products_ (-1 when none)
};

}  // namespace caig::pretraining
