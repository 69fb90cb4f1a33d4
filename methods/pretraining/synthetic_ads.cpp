#include "methods/pretraining/synthetic_ads.h"

#include <set>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "datasets/renderer_plugin.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/image_tensor.h"
#include "harness/progress.h"

namespace caig::pretraining {

at::Tensor SyntheticAds::batch(const std::vector<int64_t>& rows) const {
  for (int64_t r : rows)
    if (r < 0 || r >= size()) fail("SyntheticAds::batch: row {} out of range (0..{})", r, size());
  const auto index = torch::tensor(rows, torch::kLong);
  return images.index_select(0, index).to(torch::kFloat32).div_(255.0);
}

world::Background uniform_background(Rng& rng) {
  world::Background b;
  for (world::Slot s : world::all_slots()) b.set(s, rng.uniform_int(world::slot_size(s)));
  return b;
}

SyntheticAds render_synthetic_ads(const data::Dataset& d, const std::string& split,
                                  Renderer& renderer, int64_t count, int64_t image_size,
                                  uint64_t seed) {
  if (count < 0) fail("synthetic ads: count must be >= 0, got {}", count);
  // Distinct product cut-outs of the split, in manifest order.
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const auto& c : d.creatives)
    if (c.split == split && !c.product_image.empty() && seen.insert(c.product_image).second)
      paths.push_back(c.product_image);
  SyntheticAds out;
  out.images = torch::empty({count, 3, image_size, image_size}, torch::kUInt8);
  if (count == 0) return out;
  if (paths.empty())
    fail("synthetic ads: no product cut-outs (product_image) in split '{}' of {}", split,
         d.root.string());

  std::vector<cv::Mat> products;
  for (const auto& path : paths) {
    const auto file = resolve_inside(d.root, path, "product image " + path).string();
    cv::Mat rgba = cv::imread(file, cv::IMREAD_UNCHANGED);
    if (rgba.empty()) fail("synthetic ads: cannot decode product cut-out {}", file);
    if (rgba.type() != CV_8UC4)
      fail(
          "synthetic ads: product cut-out {} is not 8-bit RGBA (the renderer needs its alpha "
          "as the product mask)",
          file);
    products.push_back(rgba);
  }
  out.products = static_cast<int64_t>(products.size());

  Progress progress("rendering synthetic ads", count);
  for (int64_t i = 0; i < count; ++i) {
    Rng rng(derive_seed(seed, static_cast<uint64_t>(i)));
    const auto product = static_cast<size_t>(rng.uniform_index(out.products));
    const world::Background b = uniform_background(rng);
    const uint64_t render_seed = rng();
    const auto ad = renderer.render(products[product], world::describe(b), render_seed);
    if (ad.image.rows != image_size || ad.image.cols != image_size)
      fail("synthetic ads: the renderer returned a {}x{} image for {}, expected {}x{}",
           ad.image.cols, ad.image.rows, paths[product], image_size, image_size);
    out.images[i].copy_(bgr_image_tensor(ad.image));
    out.backgrounds.push_back(b);
    out.product_images.push_back(paths[product]);
    out.render_seeds.push_back(render_seed);
    progress.tick();
  }
  progress.finish();
  return out;
}

}  // namespace caig::pretraining
