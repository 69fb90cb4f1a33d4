#include "methods/pretraining/image_bank.h"

#include <unordered_map>

#include <torch/torch.h>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/image_tensor.h"
#include "harness/progress.h"

namespace caig::pretraining {

using caig::read_image_tensor;

ImageBank::ImageBank(const data::Dataset& d, int64_t image_size) : size_(image_size) {
  const auto n = static_cast<int64_t>(d.creatives.size());
  ads_ = torch::empty({n, 3, size_, size_}, torch::kUInt8);
  product_of_.assign(static_cast<size_t>(n), -1);
  std::unordered_map<std::string, int64_t> product_rows;
  std::vector<at::Tensor> products;
  Progress progress("loading images", n);
  for (int64_t i = 0; i < n; ++i) {
    const auto& c = d.creatives[static_cast<size_t>(i)];
    const std::string where = "creative " + c.creative_id;
    ads_[i].copy_(read_image_tensor(resolve_inside(d.root, c.image, where).string(), size_));
    if (!c.product_image.empty()) {
      auto [it, inserted] =
          product_rows.emplace(c.product_image, static_cast<int64_t>(products.size()));
      if (inserted)
        products.push_back(
            read_image_tensor(resolve_inside(d.root, c.product_image, where).string(), size_));
      product_of_[static_cast<size_t>(i)] = it->second;
    }
    progress.tick();
  }
  products_ =
      products.empty() ? torch::empty({0, 3, size_, size_}, torch::kUInt8) : torch::stack(products);
}

at::Tensor ImageBank::ads(const std::vector<int64_t>& creatives) const {
  return batch(creatives, std::vector<bool>(creatives.size(), false));
}

at::Tensor ImageBank::batch(const std::vector<int64_t>& creatives,
                            const std::vector<bool>& product) const {
  if (creatives.size() != product.size())
    fail("ImageBank::batch: {} creatives but {} flags", creatives.size(), product.size());
  auto out = torch::empty({static_cast<int64_t>(creatives.size()), 3, size_, size_}, torch::kUInt8);
  for (size_t k = 0; k < creatives.size(); ++k) {
    const int64_t i = creatives[k];
    if (i < 0 || i >= ads_.size(0)) fail("ImageBank::batch: creative index {} out of range", i);
    if (product[k]) {
      const int64_t row = product_of_[static_cast<size_t>(i)];
      if (row < 0) fail("creative #{} has no product image", i);
      out[static_cast<int64_t>(k)].copy_(products_[row]);
    } else {
      out[static_cast<int64_t>(k)].copy_(ads_[i]);
    }
  }
  return out.to(torch::kFloat32).div_(255.0);
}

}  // namespace caig::pretraining
