#include "harness/image_tensor.h"

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

at::Tensor read_image_tensor(const std::string& path, int64_t expected_size) {
  cv::Mat img = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (img.empty()) fail("cannot decode image {} (missing or corrupt)", path);
  if (img.depth() != CV_8U) fail("image {}: expected 8-bit channels", path);
  if (img.rows != expected_size || img.cols != expected_size)
    fail("image {} is {}x{}, expected {}x{}", path, img.cols, img.rows, expected_size,
         expected_size);
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
  return bgr_image_tensor(bgr);
}

}  // namespace caig
