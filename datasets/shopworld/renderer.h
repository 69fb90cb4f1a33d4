// The Stable Diffusion + ControlNet-inpaint stand-in: product kept, background generated around it.
#pragma once

#include <cstdint>

#include <opencv2/core.hpp>

#include "datasets/shopworld/vocabulary.h"

namespace caig::world {

struct RenderOptions {
  int image_size = 64;           // output is image_size x image_size
  double product_scale = 0.78;   // product cut-out's longer side relative to the canvas (CAIG)
  double dilate_fraction = 0.04; // dilation radius of the mask, relative to the canvas
};

struct RenderedAd {
  cv::Mat image;  // CV_8UC3 (B, G, R)
  cv::Mat mask;   // CV_8UC1, 255 where the product's pixels were pasted back
};

// Renders an ad: the product's RGBA cut-out is scaled to `product_scale` of the canvas and centred;
// the background is generated from `background` outside the dilated mask; the product pixels are
// pasted back. Slots left at -1 get a neutral value. `seed` varies placement and noise only.
RenderedAd render_ad(const cv::Mat& product_rgba, const Background& background, uint64_t seed,
                     const RenderOptions& options);

// The product layer render_ad pastes: the cut-out scaled so that its mask's (alpha > 127) longer
// side is `product_scale` of the canvas, centred on a transparent image_size x image_size CV_8UC4.
cv::Mat place_product(const cv::Mat& product_rgba, const RenderOptions& options);

// Background alone (no product), size x size, CV_8UC3: used by render_ad and by tests.
cv::Mat render_background(const Background& background, uint64_t seed, int size);

// Product visibility measured on pixels: mean colour contrast (CIELab distance, 0..~100) between a
// ring just inside the mask and a ring just outside it. Drives the click model's V(x) term.
double visibility_contrast(const cv::Mat& ad_bgr, const cv::Mat& mask);

}  // namespace caig::world
