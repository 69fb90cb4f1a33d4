#include "datasets/register.h"

#include <functional>

#include "datasets/dataset_source.h"
#include "datasets/io/cg4ctr_json.h"
#include "datasets/io/creative_ranking.h"
#include "datasets/io/shopworld_dir.h"
#include "datasets/renderer_plugin.h"
#include "datasets/shopworld/grammar.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/config.h"
#include "harness/plugins.h"
#include "harness/seeds.h"

namespace caig::datasets {

namespace {

// ShopWorld generated in memory from the experiment's [world] section (no images on disk).
class GeneratedShopWorld : public DatasetSource {
 public:
  GeneratedShopWorld(world::WorldConfig config, uint64_t seed)
      : config_(std::move(config)), seed_(seed) {}
  data::Dataset load() override {
    world::ShopWorld w(config_, seed_);
    return w.generate_history({});
  }

 private:
  world::WorldConfig config_;
  uint64_t seed_;
};

data::LoadOptions load_options(const nlohmann::json& cfg, uint64_t seed) {
  data::LoadOptions o;
  o.lenient = cfg.at("lenient").get<bool>();
  o.check_images = cfg.at("check_images").get<bool>();
  o.seed = seed;
  return o;
}

// A dataset on disk in one of the supported formats.
class DatasetOnDisk : public DatasetSource {
 public:
  using Loader = std::function<data::Dataset(const nlohmann::json&, const data::LoadOptions&)>;
  DatasetOnDisk(nlohmann::json cfg, data::LoadOptions opt, Loader loader)
      : cfg_(std::move(cfg)), opt_(opt), loader_(std::move(loader)) {}
  data::Dataset load() override {
    if (cfg_.at("path").get<std::string>().empty()) fail("dataset: 'path' is not set");
    return loader_(cfg_, opt_);
  }

 private:
  nlohmann::json cfg_;
  data::LoadOptions opt_;
  Loader loader_;
};

data::PairRule rule_from_experiment(const PluginContext& ctx) {
  return ctx.experiment ? data::PairRule::from_json(at_path(*ctx.experiment, "world.pairs"))
                        : data::PairRule{};
}

class ProceduralRenderer : public Renderer {
 public:
  explicit ProceduralRenderer(const nlohmann::json& cfg) {
    options_.image_size = cfg.at("image_size").get<int>();
    options_.product_scale = cfg.at("product_scale").get<double>();
    options_.dilate_fraction = cfg.at("dilate_fraction").get<double>();
  }
  world::RenderedAd render(const cv::Mat& product_rgba, const std::string& description,
                           uint64_t seed) override {
    return world::render_ad(product_rgba, world::parse_description(description).background, seed,
                            options_);
  }

 private:
  world::RenderOptions options_;
};

}  // namespace

void register_dataset_sources(Plugins& p) {
  add_config_section("world", world::WorldConfig{}.to_json());

  for (const std::string variant : {"commercial", "public"}) {
    p.datasets.add(
        "shopworld_" + variant,
        variant == "commercial"
            ? "ShopWorld logged history with images, titles and attributes (JD-like)"
            : "ShopWorld logged history with images and counts only (CreativeRanking-like)",
        nlohmann::json::object(), [variant](const nlohmann::json&, const PluginContext& ctx) {
          if (!ctx.experiment) fail("dataset shopworld_{} needs an experiment config", variant);
          auto cfg = world::WorldConfig::from_json(at_path(*ctx.experiment, "world"));
          cfg.dataset = variant;
          return std::make_unique<GeneratedShopWorld>(cfg, derive_seed(ctx.seed, "world"));
        });
  }
  const nlohmann::json disk_defaults = {{"path", ""}, {"lenient", false}, {"check_images", true}};
  p.datasets.add("shopworld_dir", "a ShopWorld dataset directory written by `caig world`",
                 disk_defaults, [](const nlohmann::json& cfg, const PluginContext& ctx) {
                   auto opt = load_options(cfg, derive_seed(ctx.seed, "pair_sides"));
                   return std::make_unique<DatasetOnDisk>(
                       cfg, opt, [](const nlohmann::json& c, const data::LoadOptions& o) {
                         return data::load_dataset_dir(c.at("path").get<std::string>(), o);
                       });
                 });
  nlohmann::json real_defaults = disk_defaults;
  real_defaults["images"] = "";
  p.datasets.add("creative_ranking",
                 "CreativeRanking TSV (item_id, image_name, ds, pv, clk; summed over days) with "
                 "its image folder",
                 real_defaults, [](const nlohmann::json& cfg, const PluginContext& ctx) {
                   auto opt = load_options(cfg, derive_seed(ctx.seed, "pair_sides"));
                   opt.rule = rule_from_experiment(ctx);
                   return std::make_unique<DatasetOnDisk>(
                       cfg, opt, [](const nlohmann::json& c, const data::LoadOptions& o) {
                         return data::load_creative_ranking(c.at("path").get<std::string>(),
                                                            c.at("images").get<std::string>(), o);
                       });
                 });
  p.datasets.add("cg4ctr_json",
                 "CG4CTR / CAIG JSON ({item_id: [{creative_id, creative_image_hash, "
                 "exp_impression_cnt, exp_click_cnt}]}) with its image folder",
                 real_defaults, [](const nlohmann::json& cfg, const PluginContext& ctx) {
                   auto opt = load_options(cfg, derive_seed(ctx.seed, "pair_sides"));
                   opt.rule = rule_from_experiment(ctx);
                   return std::make_unique<DatasetOnDisk>(
                       cfg, opt, [](const nlohmann::json& c, const data::LoadOptions& o) {
                         return data::load_cg4ctr_json(c.at("path").get<std::string>(),
                                                       c.at("images").get<std::string>(), o);
                       });
                 });
}

void register_renderers(Plugins& p) {
  const world::RenderOptions r;
  p.renderers.add("procedural",
                  "ShopWorld's procedural background generator (stand-in for SD + ControlNet "
                  "inpainting): product kept at 0.78 of the canvas, background around it",
                  {{"image_size", r.image_size},
                   {"product_scale", r.product_scale},
                   {"dilate_fraction", r.dilate_fraction}},
                  [](const nlohmann::json& cfg, const PluginContext&) {
                    return std::make_unique<ProceduralRenderer>(cfg);
                  });
}

}  // namespace caig::datasets
