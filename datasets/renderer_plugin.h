// Renderer plugins: turn a product cut-out and a background description into an ad image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "datasets/shopworld/renderer.h"

namespace caig {

// One ad to render: the product's RGBA cut-out (any size: the renderer places it), the background
// description, and the seed that varies placement and noise.
struct RenderJob {
  const cv::Mat* product_rgba = nullptr;
  std::string description;
  uint64_t seed = 0;
};

class Renderer {
 public:
  virtual ~Renderer() = default;
  // image: CV_8UC3 BGR, image_size x image_size; mask: CV_8UC1, 255 on the product's pixels.
  virtual world::RenderedAd render(const cv::Mat& product_rgba, const std::string& description,
                                   uint64_t seed) = 0;
  // Many ads at once, in order (an external renderer pipelines them); the default renders one
  // after the other.
  virtual std::vector<world::RenderedAd> render_all(const std::vector<RenderJob>& jobs) {
    std::vector<world::RenderedAd> out;
    out.reserve(jobs.size());
    for (const auto& j : jobs) out.push_back(render(*j.product_rgba, j.description, j.seed));
    return out;
  }
};

}  // namespace caig
