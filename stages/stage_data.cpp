#include "stages/stage_data.h"

#include "datasets/dataset_source.h"
#include "datasets/io/inspect.h"
#include "datasets/renderer_plugin.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/stage.h"
#include "rewards/benchmark.h"
#include "rewards/saved_model.h"

namespace caig::stages {

data::Dataset load_stage_dataset(const std::filesystem::path& path,
                                 const nlohmann::json& experiment, uint64_t seed,
                                 const std::string& what, const std::filesystem::path& images) {
  const auto where = data::locate_dataset(path, images);
  nlohmann::json source = {{"path", where.path.string()}};
  if (!where.images.empty()) source["images"] = where.images.string();
  return plugins()
      .datasets.create(where.source, source, PluginContext{&experiment, seed}, what)
      ->load();
}

nlohmann::json experiment_section(const nlohmann::json& experiment, const std::string& kind,
                                  const std::string& name) {
  if (experiment.contains(kind) && experiment[kind].contains(name)) return experiment[kind][name];
  return nlohmann::json::object();
}

std::unique_ptr<Renderer> make_stage_renderer(const nlohmann::json& experiment,
                                              const std::string& name, int64_t image_size,
                                              uint64_t seed) {
  nlohmann::json cfg = experiment_section(experiment, "renderers", name);
  if (plugins().renderers.get(name).defaults.contains("image_size") && !cfg.contains("image_size"))
    cfg["image_size"] = image_size;
  return plugins().renderers.create(name, cfg, PluginContext{&experiment, seed},
                                    "renderers." + name);
}

std::unique_ptr<RewardModel> stage_judge(StageContext& ctx, const std::string& judge,
                                         const std::string& variant, int64_t s, uint64_t seed,
                                         const std::string& who) {
  auto j = rewards::create_reward_model(ctx.experiment(), judge, seed);
  if (!j->trainable()) return j;
  const std::filesystem::path root = ctx.input("reward_accuracy", "models") / variant / judge;
  std::filesystem::path dir = root / ("seed" + std::to_string(s));
  if (!std::filesystem::exists(dir)) dir = root / "seed0";
  if (!std::filesystem::exists(dir / "reward_model.json"))
    fail(
        "{}: judge '{}' is a trained reward model, but the reward_accuracy stage kept none at {} "
        "(list it in stages.reward_accuracy.models, variant '{}', with save_models = seed0 or "
        "all)",
        who, judge, root.string(), variant);
  return rewards::load_reward_model(dir, ctx.device()).model;
}

}  // namespace caig::stages
