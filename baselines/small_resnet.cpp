#include "baselines/small_resnet.h"

#include <torch/torch.h>

namespace caig::baselines {

namespace nn = torch::nn;

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t stride) {
  conv1 = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(out));
  conv2 =
      register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
  bn2 = register_module("bn2", nn::BatchNorm2d(out));
  shortcut = register_module("shortcut", nn::Sequential());
  if (stride != 1 || in != out) {
    shortcut->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    shortcut->push_back(nn::BatchNorm2d(out));
  }
}

at::Tensor ResidualBlockImpl::forward(const at::Tensor& x) {
  auto y = torch::relu(bn1(conv1(x)));
  y = bn2(conv2(y));
  return torch::relu(y + (shortcut->is_empty() ? x : shortcut->forward(x)));
}

SmallResNetImpl::SmallResNetImpl(int64_t width) : width_(width) {
  stem = register_module(
      "stem", nn::Conv2d(nn::Conv2dOptions(3, width, 3).stride(2).padding(1).bias(false)));
  stem_bn = register_module("stem_bn", nn::BatchNorm2d(width));
  stage1 = register_module("stage1", ResidualBlock(width, width, 1));
  stage2 = register_module("stage2", ResidualBlock(width, 2 * width, 2));
  stage3 = register_module("stage3", ResidualBlock(2 * width, 4 * width, 2));
}

at::Tensor SmallResNetImpl::forward(const at::Tensor& images) {
  auto x = torch::relu(stem_bn(stem(images - 0.5)));
  x = stage3(stage2(stage1(x)));
  return x.mean({2, 3});
}

}  // namespace caig::baselines
