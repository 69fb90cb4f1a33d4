#include "methods/pretraining/image_bank.h"

#include <unordered_map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/progress.h"

namespace caig::pretraining {

at::Tensor read_image_tensor(const std::string& path, int64_t expected_size) {
  cv::Mat img = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (img.empty()) fail("cannot decode image {} (missing or corrupt)", path);
  if (img.depth() != CV_8U) fail("image {}: expected 8-bit channels", path);
  if (img.rows != expected_size || img.cols != expected_size)
    fail("image {} is {}x{}, expected {}x{}", path, img.cols, img.rows, expected_size, expected_size);
  cv::Mat rgb;
  if (img.channels() == 4) {
    // Composite on grey: alpha-blend in float, then back to 8 bit.
    cv::Mat f;
    img.convertTo(f, CV_32FC4);
    std::vector<cv::Mat> ch;
    cv::split(f, ch);
    const cv::Mat a = ch[3] / 255.0f;
    for (int i = 0; i < 3; ++i) ch[i] = ch[i].mul(a) + (1.0f - a) * 128.0f;
    cv::Mat bgr;
    cv::merge(std::vector<cv::Mat>{ch[0], ch[1], ch[2]}, bgr);
    bgr.convertTo(rgb, CV_8UC3);
    cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
  } else if (img.channels() == 3) {
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  } else if (img.channels() == 1) {
    cv::cvtColor(img, rgb, cv::COLOR_GRAY2RGB);
  } else {
    fail("image {}: unsupported channel count {}", path, img.channels());
  }
  auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
  return t.permute({2, 0, 1}).contiguous();
}

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
      auto [it, inserted] = product_rows.emplace(c.product_image, static_cast<int64_t>(products.size()));
      if (inserted)
        products.push_back(read_image_tensor(resolve_inside(d.root, c.product_image, where).string(), size_));
      product_of_[static_cast<size_t>(i)] = it->second;
    }
    progress.tick();
  }
  products_ = products.empty() ? torch::empty({0, 3, size_, size_}, torch::kUInt8) : torch::stack(products);
}

at::Tensor ImageBank::ads(const std::vector<int64_t>& creatives) const {
  return batch(creatives, std::vector<bool>(creatives.size(), false));
}

at::Tensor ImageBank::batch(const std::vector<int64_t>& creatives, const std::vector<bool>& product) const {
  if (creatives.size() != product.size()) fail("ImageBank::batch: {} creatives but {} flags", creatives.size(), product.size());
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
