// The `pretrain` stage: e-commerce pretraining of the multimodal backbone (paper section 3) on
// the world stage's `data` (or stages.pretrain.data); writes the artifact `checkpoint`. An
// interrupted attempt resumes from the checkpoint it saved at its last validation.
#include "stages/pretrain_stage.h"

#include "datasets/io/shopworld_dir.h"
#include "datasets/renderer_plugin.h"
#include "harness/config.h"
#include "harness/content_hash.h"
#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "methods/backbone/options.h"
#include "methods/pretraining/image_bank.h"
#include "stages/register.h"
#include "stages/stage_data.h"

namespace fs = std::filesystem;

namespace caig::stages {

pretraining::PretrainResult run_pretraining(const nlohmann::json& experiment, const fs::path& data,
                                            const std::string& device, uint64_t seed,
                                            const fs::path& checkpoint, bool resume) {
  if (!fs::exists(data / "manifest.jsonl"))
    fail("pretrain: no ShopWorld dataset at {} (no manifest.jsonl)", data.string());
  const data::Dataset d = load_stage_dataset(data, experiment, seed, "pretrain");
  const auto backbone = backbone::BackboneOptions::from_json(at_path(experiment, "backbone"));
  const auto options = pretraining::PretrainOptions::from_json(at_path(experiment, "pretrain"));
  const pretraining::ImageBank bank(d, backbone.image_size);
  std::unique_ptr<Renderer> renderer;
  if (options.synthetic_ads > 0) {
    // The renderer draws at the backbone's image size when it has that setting.
    const auto& entry = plugins().renderers.get(options.synthetic_renderer);
    nlohmann::json overrides = nlohmann::json::object();
    if (entry.defaults.contains("image_size")) overrides["image_size"] = backbone.image_size;
    renderer = plugins().renderers.create(options.synthetic_renderer, overrides,
                                          PluginContext{&experiment, derive_seed(seed, "renderer")},
                                          "pretrain.synthetic_renderer");
  }
  return pretraining::pretrain(d, bank, backbone, options, device, derive_seed(seed, "pretrain"),
                               checkpoint, resume, renderer.get());
}

namespace {

// [stages.pretrain] (harness/json_fields.h); the training itself is [pretrain] and [backbone].
struct PretrainStageOptions {
  std::string data;  // a ShopWorld dataset directory; empty: the world stage's
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("data", o.data);
  }
};

class PretrainStage : public Stage {
 public:
  explicit PretrainStage(const nlohmann::json& cfg)
      : data_(fields_from_json<PretrainStageOptions>(cfg, "stages.pretrain").data) {}

  std::vector<ArtifactRef> reads() const override {
    if (!data_.empty()) return {};
    return {{"world", "data", "the ShopWorld dataset it trains on; or set stages.pretrain.data"}};
  }
  std::vector<std::string> writes() const override { return {"checkpoint"}; }
  std::vector<std::string> config_keys() const override { return {"backbone", "pretrain"}; }
  nlohmann::json external_fingerprint() const override {
    if (data_.empty()) return nullptr;
    return {{"data", hash_bytes(hash_tree(data_).dump())}};  // every file of it
  }
  bool resumable() const override { return true; }

  void run(StageContext& ctx) override {
    const fs::path data = data_.empty() ? ctx.input("world", "data") : fs::path(data_);
    auto r = run_pretraining(ctx.experiment(), data, ctx.device(), ctx.seed(),
                             ctx.output("checkpoint"), ctx.resume());
    ctx.metrics = r.metrics;
    ctx.metrics["simulated"] = r.simulated;
    ctx.spend("", r.spent);
  }

 private:
  std::string data_;
};

}  // namespace

void register_pretrain_stage(Plugins& p) {
  add_config_section("backbone", backbone::BackboneOptions{}.to_json());
  add_config_section("pretrain", pretraining::PretrainOptions{}.to_json());
  p.stages.add("pretrain",
               "e-commerce pretraining of the multimodal backbone (paper section 3) on the world "
               "stage's data; artifact `checkpoint`; resumes an interrupted attempt",
               fields_to_json(PretrainStageOptions{}),
               [](const nlohmann::json& cfg, const PluginContext&) {
                 return std::make_unique<PretrainStage>(cfg);
               });
}

}  // namespace caig::stages
