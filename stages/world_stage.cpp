// The `world` stage: generates the experiment's ShopWorld (its [world] section) as the artifact
// `data`, with its calibration figures as metrics and the oracle's verdict on every pair as
// records.
#include "datasets/shopworld/world_config.h"
#include "harness/budget.h"
#include "harness/config.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "metrics/world_calibration.h"
#include "stages/register.h"
#include "stages/world_output.h"

namespace caig::stages {

namespace {

// [stages.world] (harness/json_fields.h).
struct WorldStageOptions {
  int threads = 0;  // worker threads (0: one per core); the world does not depend on it
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("threads", o.threads);
  }
};

class WorldStage : public Stage {
 public:
  explicit WorldStage(const nlohmann::json& cfg)
      : threads_(fields_from_json<WorldStageOptions>(cfg, "stages.world").threads) {}

  std::vector<std::string> writes() const override { return {"data"}; }
  std::vector<std::string> config_keys() const override { return {"world"}; }
  bool uses_device() const override { return false; }  // the simulator runs on the CPU

  void run(StageContext& ctx) override {
    const auto config = world::WorldConfig::from_json(at_path(ctx.experiment(), "world"));
    const uint64_t world_seed = derive_seed(ctx.seed(), "world");
    BudgetMeter meter(BudgetLimits{}, "cpu");  // the simulator runs on the CPU
    meter.start();
    WorldOutput out = write_world(config, world_seed, ctx.output("data"), false, threads_);
    meter.stop();
    meter.add_samples(static_cast<int64_t>(out.dataset.creatives.size()));
    ctx.metrics = out.calibration;
    ctx.metrics["world_seed"] = world_seed;
    ctx.metrics["simulated"] = true;
    ctx.spend("", meter.spent());

    const auto verdicts = metrics::oracle_pairs(out.dataset);
    for (size_t i = 0; i < verdicts.size(); ++i) {
      const auto& p = out.dataset.pairs[i];
      ctx.records.push_back({{"product_id", p.product_id},
                             {"left", p.left},
                             {"right", p.right},
                             {"label", p.label},
                             {"oracle_correct", verdicts[i].correct},
                             {"oracle_tie", verdicts[i].tie}});
    }
  }

 private:
  int threads_;  // a speed setting: the world does not depend on it
};

}  // namespace

void register_world_stage(Plugins& p) {
  p.stages.add("world",
               "generate the experiment's ShopWorld (artifact `data`: manifest, pairs, images, "
               "world.json) and report its calibration",
               fields_to_json(WorldStageOptions{}),
               [](const nlohmann::json& cfg, const PluginContext&) {
                 return std::make_unique<WorldStage>(cfg);
               });
}

}  // namespace caig::stages
