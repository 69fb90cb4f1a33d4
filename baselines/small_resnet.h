// A small ResNet-style CNN trunk (VAM's image model, and CG4CTR's learned image branch): a
// stride-2 stem, then three stages of one basic residual block each (widths w, 2w, 4w, the last two
// with stride 2), global average pooling -> [B, 4w].
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace caig::baselines {

struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl(int64_t in, int64_t out, int64_t stride);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential shortcut{nullptr};  // 1x1 conv + BN where the shape changes, else empty
};
TORCH_MODULE(ResidualBlock);

struct SmallResNetImpl : torch::nn::Module {
  explicit SmallResNetImpl(int64_t width = 16);
  // images [B, 3, H, W] in [0, 1] -> [B, out_dim()]
  at::Tensor forward(const at::Tensor& images);
  int64_t out_dim() const { return 4 * width_; }
  torch::nn::Conv2d stem{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  ResidualBlock stage1{nullptr}, stage2{nullptr}, stage3{nullptr};

 private:
  int64_t width_;
};
TORCH_MODULE(SmallResNet);

}  // namespace caig::baselines
