// Every size of the multimodal backbone in one place; the defaults are the `cpu` preset.
#pragma once

#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace caig::backbone {

struct BackboneOptions {
  int64_t image_size = 64;  // side of a single ad image; composites are image_size x 2*image_size
  int64_t patch = 8;        // vision patch side (pixels)
  // Channels of a two-layer 3x3 stride-2 conv stem ahead of the patch embedding (0: none, the
  // plain ViT patchify). With a stem, each patch token is built from overlapping local features
  // instead of one linear map of raw pixels; the patch must then be a multiple of 4.
  int64_t conv_stem = 0;
  // Channels of a sub-patch stem (0: none): a 4x4 stride-4 convolution and a GELU ahead of the
  // patch embedding, so each token is a small MLP of its 4x4 sub-patches rather than one linear
  // map of raw pixels. Non-overlapping, so a token still sees only its own patch; it costs about
  // what the linear patchify does. Excludes conv_stem; the patch must be a multiple of 4.
  int64_t subpatch_stem = 0;
  int64_t d_model = 128;  // width of the vision encoder and the LM
  int64_t heads = 4;
  int64_t vision_layers = 2;
  int64_t lm_layers = 4;
  int64_t mlp_ratio = 4;      // MLP hidden width = mlp_ratio * d_model
  int64_t max_text_len = 64;  // learned text positions; prompt + generated tokens must fit
  int64_t max_grid_h = 8;     // patch rows / columns the positional tables cover: 8 x 16 takes a
  int64_t max_grid_w = 16;    // 64 x 128 side-by-side composite at patch 8
  double dropout = 0.0;
  bool use_sdpa = true;                    // at::scaled_dot_product_attention where available
  bool image_prefix_bidirectional = true;  // image tokens attend to each other both ways
  bool tie_embeddings = true;              // LM head shares the token embedding matrix
  // A learned [2, d] tile embedding (left, right) added to the image tokens of a two-ad prefix
  // (two_ad_prefix): each ad of a side-by-side pair goes through the encoder on its own trained
  // positions, and the tile embedding says which side a token comes from (LLaVA-1.6's AnyRes).
  // Pretraining's composite task trains it; the CAIG reward model reads its pairs through it.
  bool tile_embedding = false;

  // Strict: an unknown key, or a value of the wrong type, is a caig::Error naming it.
  nlohmann::json to_json() const;
  static BackboneOptions from_json(const nlohmann::json& j);
  // caig::Error naming the first bad field (non-positive sizes, d_model % heads, grid too small
  // for image_size, dropout outside [0, 1)).
  void validate() const;
};

}  // namespace caig::backbone
