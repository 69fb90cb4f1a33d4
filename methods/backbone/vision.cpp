#include "methods/backbone/vision.h"

#include <torch/torch.h>

#include "harness/error.h"

namespace caig::backbone {

VisionEncoderImpl::VisionEncoderImpl(const BackboneOptions& options_) : options(options_) {
  options.validate();
  const int64_t d = options.d_model;
  int64_t in = 3, patch = options.patch;
  if (options.conv_stem > 0) {
    const int64_t c = options.conv_stem;
    stem = register_module(
        "stem", torch::nn::Sequential(
                    torch::nn::Conv2d(torch::nn::Conv2dOptions(3, c, 3).stride(2).padding(1)),
                    torch::nn::GELU(),
                    torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).stride(2).padding(1)),
                    torch::nn::GELU()));
    in = c;
    patch = options.patch / 4;  // the stem has already reduced each side by 4
  } else if (options.subpatch_stem > 0) {
    // A 4x4 stride-4 convolution; forward() applies it as a matmul over 4x4 patches.
    const int64_t c = options.subpatch_stem;
    subpatch =
        register_module("subpatch", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, c, 4).stride(4)));
    in = c;
    patch = options.patch / 4;
  }
  patch_embed = register_module(
      "patch_embed", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, d, patch).stride(patch)));
  row_pos = register_parameter("row_pos", torch::randn({options.max_grid_h, d}) * 0.02);
  col_pos = register_parameter("col_pos", torch::randn({options.max_grid_w, d}) * 0.02);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.vision_layers; ++i) {
    layers->push_back(
        TransformerBlock(d, options.heads, options.mlp_ratio, options.use_sdpa, options.dropout));
  }
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
}

void VisionEncoderImpl::check_size(int64_t height, int64_t width) const {
  const int64_t p = options.patch;
  if (height <= 0 || width <= 0 || height % p != 0 || width % p != 0) {
    fail("vision encoder: image size {}x{} (HxW) is not a multiple of the patch size {}", height,
         width, p);
  }
  if (height / p > options.max_grid_h || width / p > options.max_grid_w) {
    fail(
        "vision encoder: image size {}x{} (HxW) needs a {}x{} patch grid, larger than the "
        "positional grid {}x{} (max_grid_h x max_grid_w)",
        height, width, height / p, width / p, options.max_grid_h, options.max_grid_w);
  }
}

namespace {

// Non-overlapping k x k convolution of channels-last x [B, H, W, C] as one 2D matmul:
// -> [B, H/k, W/k, out]. Each patch's features are laid out as (C, ky, kx), the order of the conv
// weight's flattening. On a CPU this is faster than the convolution kernels for these shapes.
// (One contiguous 2D addmm: LibTorch 1.13's batched linear gave garbage weight gradients for the
// permuted inputs of the sub-patch stem.)
torch::Tensor patch_linear(const torch::Tensor& x, const torch::nn::Conv2d& conv, int64_t k) {
  const int64_t b = x.size(0), h = x.size(1) / k, w = x.size(2) / k, c = x.size(3);
  const auto patches =
      x.reshape({b, h, k, w, k, c}).permute({0, 1, 3, 5, 2, 4}).reshape({b * h * w, c * k * k});
  return torch::addmm(conv->bias, patches, conv->weight.flatten(1).t()).view({b, h, w, -1});
}

}  // namespace

torch::Tensor VisionEncoderImpl::forward(const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != 3) {
    fail("vision encoder: expected images [B, 3, H, W], got {}", c10::str(images.sizes()));
  }
  if (!images.is_floating_point()) fail("vision encoder: images must be float in [0, 1]");
  check_size(images.size(2), images.size(3));
  const int64_t gh = images.size(2) / options.patch, gw = images.size(3) / options.patch;
  // [0, 1] -> [-1, 1], then [B, d, gh, gw] -> [B, gh * gw, d]
  auto x = images * 2.0 - 1.0;
  if (stem) {
    x = stem->forward(x);
    x = patch_embed(x).flatten(2).transpose(1, 2);
  } else {
    x = x.permute({0, 2, 3, 1});  // channels last
    if (subpatch) x = torch::gelu(patch_linear(x, subpatch, 4));
    x = patch_linear(x, patch_embed, subpatch ? options.patch / 4 : options.patch)
            .reshape({x.size(0), gh * gw, options.d_model});
  }
  auto pos = (row_pos.slice(0, 0, gh).unsqueeze(1) + col_pos.slice(0, 0, gw).unsqueeze(0))
                 .reshape({gh * gw, options.d_model});
  x = x + pos;
  const torch::Tensor no_mask;  // patches attend to every patch
  for (const auto& layer : *layers) x = layer->as<TransformerBlockImpl>()->forward(x, no_mask);
  return norm(x);
}

}  // namespace caig::backbone
