#include "optimisation/loop_products.h"

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "datasets/shopworld/shopworld.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/image_tensor.h"
#include "methods/pretraining/tasks.h"

namespace caig::optimisation {

std::unique_ptr<world::ShopWorld> dataset_world(const data::Dataset& d) {
  if (!d.world.is_object()) return nullptr;
  try {
    return std::make_unique<world::ShopWorld>(world::WorldConfig::from_json(d.world.at("config")),
                                              d.world.at("seed").get<uint64_t>());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: world.json is not a ShopWorld's: {}", d.root.string(), e.what());
  }
}

std::vector<LoopProduct> loop_products(const data::Dataset& d, const std::string& split, int64_t n,
                                       uint64_t seed, int64_t image_size,
                                       const world::ShopWorld* w) {
  std::vector<LoopProduct> out;
  for (int64_t i : pretraining::distinct_product_creatives(d, split, n, seed)) {
    const auto& c = d.creatives[static_cast<size_t>(i)];
    const std::string where = "product " + c.product_id + " (creative " + c.creative_id + ")";
    if (c.product_image.empty())
      fail(
          "{} has no product cut-out: the loop renders new ads around it, so the dataset needs "
          "product images (a ShopWorld dataset)",
          where);
    const auto path = resolve_inside(d.root, c.product_image, where);
    LoopProduct p;
    p.prompt.product_id = c.product_id;
    p.prompt.category = c.category;
    p.prompt.title = c.title;
    p.prompt.attributes = c.attributes;
    p.prompt.image = read_image_tensor(path.string(), image_size).to(torch::kFloat32).div_(255.0);
    p.rgba = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
    if (p.rgba.empty() || p.rgba.type() != CV_8UC4)
      fail("{}: {} is not an 8-bit RGBA cut-out", where, path.string());
    p.ad.product_id = c.product_id;
    p.ad.category = c.category;
    p.ad.title = c.title;
    p.ad.attributes = c.attributes;
    if (w) {
      const auto& id = c.product_id;
      int64_t k = -1;
      if (id.size() > 1 && id[0] == 'p') k = std::atoll(id.c_str() + 1);
      if (k < 0 || k >= static_cast<int64_t>(w->products().size()) || world::product_key(k) != id)
        fail("{} is not a product of the dataset's world", where);
      p.world = &w->product(k);
    }
    out.push_back(std::move(p));
  }
  if (out.empty()) fail("{}: no products in split '{}'", d.root.string(), split);
  return out;
}

}  // namespace caig::optimisation
