// Image files as LibTorch tensors (shared by pretraining and the reward models).
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

namespace cv {
class Mat;
}

namespace caig {

// One 8-bit BGR image (OpenCV's order, e.g. a rendered ad) as [3, H, W] uint8 RGB.
at::Tensor bgr_image_tensor(const cv::Mat& bgr);

// Decodes one image file into [3, H, W] uint8 RGB; RGBA is composited on grey (128). A missing or
// corrupt file, or one of another size than expected_size x expected_size, is an Error naming it.
at::Tensor read_image_tensor(const std::string& path, int64_t expected_size);

// An image of any size and aspect (real datasets) fitted into size x size: scaled so that its
// longer side is `size`, centred, the rest grey (128). Errors as read_image_tensor's.
at::Tensor read_image_letterboxed(const std::string& path, int64_t size);
// The same for a decoded 8-bit BGR image.
at::Tensor letterbox_tensor(const cv::Mat& bgr, int64_t size);

}  // namespace caig
