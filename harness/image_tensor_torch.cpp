#include "harness/image_tensor.h"

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "harness/error.h"

namespace caig {

at::Tensor read_image_tensor(const std::string& path, int64_t expected_size) {
  cv::Mat img = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (img.empty()) fail("cannot decode image {} (missing or corrupt)", path);
  if (img.depth() != CV_8U) fail("image {}: expected 8-bit channels", path);
  if (img.rows != expected_size || img.cols != expected_size)
    fail("image {} is {}x{}, expected {}x{}", path, img.cols, img.rows, expected_size,
         expected_size);
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

}  // namespace caig
