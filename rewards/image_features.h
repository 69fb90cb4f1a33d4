// A fixed, hand-made image embedding: the "image features" the classic CTR models (LR, FM,
// DeepFM) and CG4CTR's image branch read, and the aesthetic score of the generic judge. Fixed so
// that every model sees the same pixels summary and none gets a learned advantage from it.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "rewards/reward_model.h"

namespace caig::rewards {

// Features of float images [B, 3, H, W] in [0, 1] -> [B, image_feature_dim()]:
//   48  mean RGB of a 4 x 4 grid of cells (layout and dominant colours)
//    6  mean RGB of the outer ring (the background around the product) and of the centre
//    8  luminance histogram (brightness and exposure)
//    4  luminance mean and standard deviation, of the whole image and of the ring (contrast)
//    2  colourfulness (Hasler and Suesstrunk 2003) of the whole image and of the ring
//    2  mean gradient magnitude of the luminance, whole image and ring (texture, detail)
int64_t image_feature_dim();
at::Tensor image_features(const at::Tensor& images);

// The image features of every ad of a set (computed in chunks on the CPU): [N,
// image_feature_dim()].
at::Tensor image_features_of(const AdSet& ads);

// Hasler and Suesstrunk's colourfulness: sqrt(sd_rg^2 + sd_yb^2) + 0.3 * sqrt(mu_rg^2 + mu_yb^2)
// with rg = R - G and yb = (R + G) / 2 - B, per image [B].
at::Tensor colourfulness(const at::Tensor& images);
// Standard deviation of the luminance 0.299 R + 0.587 G + 0.114 B, per image [B].
at::Tensor luminance_contrast(const at::Tensor& images);

}  // namespace caig::rewards
