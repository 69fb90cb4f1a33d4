#include "harness/image_tensor.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "harness/error.h"

namespace caig {

at::Tensor bgr_image_tensor(const cv::Mat& bgr) {
  if (bgr.type() != CV_8UC3) fail("bgr_image_tensor: expected an 8-bit 3-channel image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
  return t.permute({2, 0, 1}).contiguous();
}

namespace {

// An 8-bit image of 1, 3 or 4 channels as 3-channel BGR, RGBA composited on grey (128).
cv::Mat to_bgr(const cv::Mat& img, const std::string& path) {
  cv::Mat bgr;
  if (img.channels() == 4) {
    // Composite on grey: alpha-blend in float, then back to 8 bit.
    cv::Mat f;
    img.convertTo(f, CV_32FC4);
    std::vector<cv::Mat> ch;
    cv::split(f, ch);
    const cv::Mat a = ch[3] / 255.0f;
    for (int i = 0; i < 3; ++i) ch[i] = ch[i].mul(a) + (1.0f - a) * 128.0f;
    cv::Mat merged;
    cv::merge(std::vector<cv::Mat>{ch[0], ch[1], ch[2]}, merged);
    merged.convertTo(bgr, CV_8UC3);
  } else if (img.channels() == 3) {
    bgr = img;
  } else if (img.channels() == 1) {
    cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR);
  } else {
    fail("image {}: unsupported channel count {}", path, img.channels());
  }
  return bgr;
}

cv::Mat decode(const std::string& path) {
  cv::Mat img = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (img.empty()) fail("cannot decode image {} (missing or corrupt)", path);
  if (img.depth() != CV_8U) fail("image {}: expected 8-bit channels", path);
  return img;
}

}  // namespace

at::Tensor read_image_tensor(const std::string& path, int64_t expected_size) {
  const cv::Mat img = decode(path);
  if (img.rows != expected_size || img.cols != expected_size)
    fail("image {} is {}x{}, expected {}x{}", path, img.cols, img.rows, expected_size,
         expected_size);
  return bgr_image_tensor(to_bgr(img, path));
}

at::Tensor letterbox_tensor(const cv::Mat& bgr, int64_t size) {
  if (bgr.type() != CV_8UC3) fail("letterbox_tensor: expected an 8-bit 3-channel image");
  if (size < 1) fail("letterbox_tensor: size must be positive, got {}", size);
  const int s = static_cast<int>(size);
  cv::Mat canvas(s, s, CV_8UC3, cv::Scalar(128, 128, 128));
  if (bgr.rows == s && bgr.cols == s) {
    bgr.copyTo(canvas);
  } else {
    // The longer side fills the canvas; the shorter one is centred (the left/top gap gets the
    // odd pixel's floor).
    const double scale = static_cast<double>(s) / std::max(bgr.rows, bgr.cols);
    const int w = std::clamp(static_cast<int>(std::lround(bgr.cols * scale)), 1, s);
    const int h = std::clamp(static_cast<int>(std::lround(bgr.rows * scale)), 1, s);
    cv::Mat scaled;
    // Area averaging when shrinking (no aliasing), bilinear when enlarging.
    cv::resize(bgr, scaled, cv::Size(w, h), 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    scaled.copyTo(canvas(cv::Rect((s - w) / 2, (s - h) / 2, w, h)));
  }
  return bgr_image_tensor(canvas);
}

at::Tensor read_image_letterboxed(const std::string& path, int64_t size) {
  return letterbox_tensor(to_bgr(decode(path), path), size);
}

}  // namespace caig
