// The `pretrain` stage and the `caig pretrain` command: e-commerce pretraining of the backbone.
#include <iostream>

#include <fmt/format.h>

#include "datasets/io/shopworld_dir.h"
#include "datasets/renderer_plugin.h"
#include "harness/cli/commands.h"
#include "harness/cli/stages.h"
#include "harness/config.h"
#include "harness/device.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "methods/backbone/options.h"
#include "methods/pretraining/image_bank.h"
#include "methods/pretraining/pretrainer.h"
#include "reports/pretraining_report.h"

namespace fs = std::filesystem;

namespace caig::cli {

namespace {

pretraining::PretrainResult run_pretraining(const nlohmann::json& experiment, const fs::path& data,
                                            const std::string& device, uint64_t seed,
                                            const fs::path& checkpoint, bool resume) {
  if (!fs::exists(data / "manifest.jsonl"))
    fail(
        "pretrain: no ShopWorld dataset at {} (run the world stage first, or set "
        "stages.pretrain.data / --data)",
        data.string());
  const data::Dataset d = data::load_dataset_dir(data);
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

class PretrainStage : public Stage {
 public:
  explicit PretrainStage(const nlohmann::json& cfg) : data_(cfg.at("data").get<std::string>()) {}
  void run(StageContext& ctx) override {
    const fs::path data = data_.empty() ? ctx.run.file("data") : fs::path(data_);
    auto r = run_pretraining(ctx.experiment, data, ctx.device, ctx.seed,
                             ctx.run.file("checkpoints/pretrained"), false);
    ctx.metrics["pretrain"] = r.metrics;
    ctx.budget["pretrain"] = r.spent;
  }

 private:
  std::string data_;
};

}  // namespace

void register_pretrain_stage(Plugins& p) {
  add_config_section("backbone", backbone::BackboneOptions{}.to_json());
  add_config_section("pretrain", pretraining::PretrainOptions{}.to_json());
  p.stages.add("pretrain",
               "e-commerce pretraining of the multimodal backbone (paper section 3) on the run's "
               "ShopWorld data; checkpoint in <run>/checkpoints/pretrained",
               {{"data", ""}}, [](const nlohmann::json& cfg, const PluginContext&) {
                 return std::make_unique<PretrainStage>(cfg);
               });
}

void add_pretrain_command(CLI::App& app) {
  struct Options {
    std::string preset = "cpu", data, out, experiment;
    std::vector<std::string> sets;
    uint64_t seed = 7;
    bool resume = false;
  };
  auto opt = std::make_shared<Options>();
  auto* sub =
      app.add_subcommand("pretrain", "pretrain the multimodal backbone on a ShopWorld dataset");
  sub->add_option("--preset", opt->preset, "preset: smoke, cpu, paper")->capture_default_str();
  sub->add_option("--data", opt->data, "ShopWorld dataset directory (from `caig world`)")
      ->required();
  sub->add_option("--out", opt->out, "checkpoint directory")->required();
  sub->add_option("--config", opt->experiment,
                  "experiment TOML whose [backbone] and [pretrain] to use");
  sub->add_option("--set", opt->sets, "override a key, e.g. --set pretrain.max_steps=100");
  sub->add_option("--seed", opt->seed, "run seed")->capture_default_str();
  sub->add_flag("--resume", opt->resume, "continue from the checkpoint in --out");
  sub->callback([opt] {
    ResolveRequest req{opt->experiment, opt->preset, opt->sets};
    req.sets.push_back(fmt::format("run.seed={}", opt->seed));
    const nlohmann::json cfg = resolve_config(default_config(), req);
    const std::string device = resolve_device(at_path(cfg, "run.device").get<std::string>());
    set_torch_threads(at_path(cfg, "run.threads").get<int>());
    seed_torch(derive_seed(opt->seed, "torch"));
    auto r = run_pretraining(cfg, opt->data, device, opt->seed, opt->out, opt->resume);
    write_json_atomic(fs::path(opt->out) / "pretrain_metrics.json",
                      {{"metrics", r.metrics}, {"budget", r.spent}, {"config", cfg}});
    std::cout << reports::pretraining_table(r.metrics).markdown()
              << fmt::format("\ncheckpoint: {} ({} steps, {:.1f} device s)\n", opt->out,
                             r.metrics.at("steps").get<int64_t>(),
                             r.spent.at("device_seconds").get<double>());
  });
}

}  // namespace caig::cli
