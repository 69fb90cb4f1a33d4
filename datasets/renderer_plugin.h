// Renderer plugins: turn a product cut-out and a background description into an ad image.
#pragma once

#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

#include "datasets/shopworld/renderer.h"

namespace caig {

class Renderer {
 public:
  virtual ~Renderer() = default;
  virtual world::RenderedAd render(const cv::Mat& product_rgba, const std::string& description,
                                   uint64_t seed) = 0;
};

}  // namespace caig
