#include "rewards/image_features.h"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "harness/error.h"
#include "rewards/ad_set.h"

namespace caig::rewards {

namespace {

constexpr int64_t kGrid = 4;
constexpr int64_t kBins = 8;

at::Tensor luminance(const at::Tensor& x) {  // [B, H, W]
  return 0.299 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.114 * x.select(1, 2);
}

// Population standard deviation over the last dims of a [B, ...] tensor flattened per row.
at::Tensor row_sd(const at::Tensor& v) { return v.flatten(1).var(1, /*unbiased=*/false).sqrt(); }

at::Tensor colourfulness_of(const at::Tensor& rgb_flat) {  // [B, 3, N]
  const auto r = rgb_flat.select(1, 0), g = rgb_flat.select(1, 1), b = rgb_flat.select(1, 2);
  const auto rg = r - g, yb = 0.5 * (r + g) - b;
  const auto sd = (rg.var(1, false) + yb.var(1, false)).sqrt();
  const auto mu = (rg.mean(1).pow(2) + yb.mean(1).pow(2)).sqrt();
  return sd + 0.3 * mu;
}

at::Tensor ring_mask(int64_t h, int64_t w, const torch::Device& device) {
  const int64_t bh = std::max<int64_t>(1, h / 8), bw = std::max<int64_t>(1, w / 8);
  auto m = torch::zeros({h, w}, torch::TensorOptions().dtype(torch::kBool).device(device));
  m.slice(0, 0, bh).fill_(true);
  m.slice(0, h - bh, h).fill_(true);
  m.slice(1, 0, bw).fill_(true);
  m.slice(1, w - bw, w).fill_(true);
  return m;
}

}  // namespace

int64_t image_feature_dim() { return kGrid * kGrid * 3 + 6 + kBins + 4 + 2 + 2; }

at::Tensor colourfulness(const at::Tensor& images) { return colourfulness_of(images.flatten(2)); }

at::Tensor luminance_contrast(const at::Tensor& images) { return row_sd(luminance(images)); }

at::Tensor image_features(const at::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != 3)
    fail("image_features: expected [B, 3, H, W] images, got {}", images.sizes().vec());
  const int64_t b = images.size(0), h = images.size(2), w = images.size(3);
  if (h < kGrid || w < kGrid) fail("image_features: images of {}x{} are too small", w, h);
  const auto x = images.to(torch::kFloat);
  std::vector<at::Tensor> parts;
  parts.push_back(torch::adaptive_avg_pool2d(x, {kGrid, kGrid}).flatten(1));

  const auto ring = ring_mask(h, w, x.device());
  const auto flat = x.flatten(2);  // [B, 3, HW]
  const auto ring_idx = ring.flatten().nonzero().squeeze(1);
  const auto centre_idx = (~ring).flatten().nonzero().squeeze(1);
  const auto ring_px = flat.index_select(2, ring_idx);  // [B, 3, R]
  parts.push_back(ring_px.mean(2));
  parts.push_back(flat.index_select(2, centre_idx).mean(2));

  const auto y = luminance(x);  // [B, H, W]
  const auto bins = (y.flatten(1) * kBins).floor().clamp(0, kBins - 1).to(torch::kLong);
  auto hist = torch::zeros({b, kBins}, x.options());
  hist.scatter_add_(1, bins, torch::ones_like(y.flatten(1)));
  parts.push_back(hist / static_cast<double>(h * w));

  const auto y_ring = y.flatten(1).index_select(1, ring_idx);
  parts.push_back(
      torch::stack({y.flatten(1).mean(1), row_sd(y), y_ring.mean(1), row_sd(y_ring)}, 1));
  parts.push_back(torch::stack({colourfulness_of(flat), colourfulness_of(ring_px)}, 1));

  const auto gx = (y.slice(2, 1, w) - y.slice(2, 0, w - 1)).slice(1, 0, h - 1);
  const auto gy = (y.slice(1, 1, h) - y.slice(1, 0, h - 1)).slice(2, 0, w - 1);
  const auto grad = (gx.pow(2) + gy.pow(2)).sqrt();  // [B, H-1, W-1]
  const auto ring_g = ring.slice(0, 0, h - 1).slice(1, 0, w - 1).flatten().nonzero().squeeze(1);
  parts.push_back(
      torch::stack({grad.flatten(1).mean(1), grad.flatten(1).index_select(1, ring_g).mean(1)}, 1));
  return torch::cat(parts, 1);
}

at::Tensor image_features_of(const AdSet& ads) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < ads.size(); start += 1024) {
    std::vector<int64_t> rows;
    for (int64_t i = start; i < std::min(ads.size(), start + 1024); ++i) rows.push_back(i);
    parts.push_back(image_features(float_images(ads.images, rows, "cpu")));
  }
  return parts.empty() ? torch::zeros({0, image_feature_dim()}) : torch::cat(parts, 0);
}

}  // namespace caig::rewards
