// ViT-style image encoder: patch embedding, factorised 2D positional embedding, pre-norm layers.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "methods/backbone/attention.h"
#include "methods/backbone/options.h"

namespace caig::backbone {

struct VisionEncoderImpl : torch::nn::Module {
  explicit VisionEncoderImpl(const BackboneOptions& options);

  // images [B, 3, H, W], float in [0, 1], H and W multiples of the patch within the positional
  // grid (so a side-by-side composite works) -> [B, (H / patch) * (W / patch), d_model] in
  // row-major patch order. Any other size is a caig::Error naming it.
  torch::Tensor forward(const torch::Tensor& images);

  // Throws the error forward() would for an image of this size.
  void check_size(int64_t height, int64_t width) const;

  BackboneOptions options;
  torch::nn::Sequential stem{nullptr};  // registered only when options.conv_stem > 0
  torch::nn::Conv2d subpatch{nullptr};  // registered only when options.subpatch_stem > 0
  torch::nn::Conv2d patch_embed{nullptr};
  // Position (r, c) embeds as row_pos[r] + col_pos[c]: one table per axis, so grids of any shape
  // up to max_grid_h x max_grid_w share what they learn.
  torch::Tensor row_pos, col_pos;
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(VisionEncoder);

}  // namespace caig::backbone
