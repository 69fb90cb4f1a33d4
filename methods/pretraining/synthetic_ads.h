// Extra labelled ads for the auxiliary slot head, rendered by a renderer plugin.
//
// The logged history holds a few thousand ads, and the scene (read from a 7 px ring of background
// around the product) is where the vision encoder runs out of data first: the slot head fits its
// training ads while validation stalls. CAIG's pipeline owns a generator (SD + ControlNet; here
// the renderer plugin), so pretraining can render more ads of the training products with known
// backgrounds. Only training products are used, every slot is drawn uniformly (so no slot value is
// rare and the product's category says nothing about its background), and the ads reach the
// vision encoder and the slot head only, never the LM's text targets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "datasets/io/records.h"
#include "datasets/shopworld/vocabulary.h"
#include "harness/seeds.h"

namespace caig {
class Renderer;
}

namespace caig::pretraining {

struct SyntheticAds {
  at::Tensor images;  // [N, 3, H, W] uint8 RGB
  // Per ad: the complete background, the product cut-out (its path in the dataset) and the seed
  // it was rendered from.
  std::vector<world::Background> backgrounds;
  std::vector<std::string> product_images;
  std::vector<uint64_t> render_seeds;
  int64_t products = 0;  // distinct product cut-outs of the split they were drawn from
  int64_t size() const { return static_cast<int64_t>(backgrounds.size()); }
  // Float images in [0, 1], [B, 3, H, W], of the given rows.
  at::Tensor batch(const std::vector<int64_t>& rows) const;
};

// A background with every slot drawn uniformly from `rng`.
world::Background uniform_background(Rng& rng);

// Renders `count` ads of the products of `split` (their RGBA cut-outs under the dataset root):
// ad i takes a product, a uniform background and a render seed from derive_seed(seed, i), so the
// set is a pure function of (dataset, renderer, count, seed). A split without product cut-outs, an
// unreadable cut-out or a rendered image of another size than image_size is an Error naming it.
SyntheticAds render_synthetic_ads(const data::Dataset& d, const std::string& split,
                                  Renderer& renderer, int64_t count, int64_t image_size,
                                  uint64_t seed);

}  // namespace caig::pretraining
