// The `optimise_map` stage, beyond the paper: when does PCPO's advantage over DPO appear? For each
// value of one click-model parameter of the world (default the mismatch penalty M), the logged
// history's clicks are drawn again under it (the same products, creatives, images and splits, so
// the pretrained prompt model and backbone stay valid and are reused), the judge is trained on
// those clicks (for a trainable judge, with the run's [budget]), and every arm runs the loop with
// the world of that value as the gold reward. Writes `arms/<parameter>=<value>/<arm>/seed<s>.json`
// as they finish (an interrupted stage resumes there). A parameter that changes the creatives
// themselves (rho: the designers' choices) needs its own pretraining: an error that says so.
#include <fmt/format.h>

#include "datasets/shopworld/shopworld.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "optimisation/loop_products.h"
#include "rewards/benchmark.h"
#include "rewards/reward_model.h"
#include "rewards/saved_model.h"
#include "stages/optimise_arms.h"
#include "stages/register.h"
#include "stages/stage_data.h"

namespace fs = std::filesystem;

namespace caig::stages {

namespace {

struct MapOptions {
  std::string parameter = "mismatch_penalty";  // a key of [world]
  std::vector<double> values{0.0, 0.3, 0.6, 1.2, 2.4};
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("parameter", o.parameter);
    f("values", o.values);
  }
};

std::string value_key(const std::string& parameter, double v) {
  return fmt::format("{}={:g}", parameter, v);
}

// The logged history of `base` redrawn under `cfg` (same seed): the same creatives with new
// counts, true CTRs and pairs; the images are the base dataset's. An Error when the creatives
// differ (a parameter the designers or the catalogue read).
data::Dataset redraw_history(const data::Dataset& base, const world::ShopWorld& w,
                             const std::string& what) {
  data::Dataset d = w.generate_history({});
  if (d.creatives.size() != base.creatives.size())
    fail(
        "{} changes the logged creatives ({} instead of {}): it is not a click-model parameter; "
        "run a separate experiment per value (with its own pretraining) instead",
        what, d.creatives.size(), base.creatives.size());
  for (size_t i = 0; i < d.creatives.size(); ++i) {
    const auto& a = d.creatives[i];
    const auto& b = base.creatives[i];
    if (a.creative_id != b.creative_id || a.description != b.description ||
        a.render_seed != b.render_seed || a.split != b.split || a.image != b.image)
      fail(
          "{} changes the logged creatives (creative {} differs): it is not a click-model "
          "parameter; run a separate experiment per value (with its own pretraining) instead",
          what, b.creative_id);
  }
  d.root = base.root;
  d.format = base.format;
  return d;
}

class OptimiseMapStage : public Stage {
 public:
  OptimiseMapStage(nlohmann::json cfg, const nlohmann::json& experiment)
      : cfg_(std::move(cfg)),
        map_(fields_from_json<MapOptions>(cfg_, "stages.optimise_map", true)),
        opt_(fields_from_json<ArmsOptions>(cfg_, "stages.optimise_map", true)),
        loop_(fields_from_json<optimisation::LoopOptions>(cfg_, "stages.optimise_map", true)) {
    loop_.check();
    opt_.check("stages.optimise_map");
    if (map_.values.empty()) fail("stages.optimise_map.values is empty");
    const auto world = at_path(experiment, "world");
    if (!world.contains(map_.parameter) || !world[map_.parameter].is_number())
      fail("stages.optimise_map.parameter: '{}' is not a numeric key of [world]", map_.parameter);
    arms_ = parse_arms(cfg_.at("arms"), opt_, "stages.optimise_map");
    needs_ = check_arms(experiment, arms_, loop_);
    for (const auto& a : arms_)
      if (rewards::create_reward_model(experiment, a.judge, 0)->needs_pretrained_backbone())
        judge_backbone_ = a.judge;
  }

  std::vector<ArtifactRef> reads() const override {
    std::vector<ArtifactRef> r;
    if (opt_.data.empty())
      r.push_back({"world", "data", "the products and creatives whose clicks are redrawn"});
    if (!needs_.backbone_user.empty() || !judge_backbone_.empty())
      r.push_back({"pretrain", "checkpoint",
                   "the prompt model and the judge start from the pretrained backbone"});
    return r;
  }
  std::vector<std::string> writes() const override { return {"arms"}; }
  std::vector<std::string> config_keys() const override {
    return {"optimisers", "prompt_models", "renderers", "reward_models", "world", "budget"};
  }
  bool resumable() const override { return true; }

  void run(StageContext& ctx) override {
    const auto& experiment = ctx.experiment();
    const fs::path data = opt_.data.empty() ? ctx.input("world", "data") : fs::path(opt_.data);
    const data::Dataset base =
        load_stage_dataset(data, experiment, ctx.seed(), "stages.optimise_map.data");
    if (!base.world.is_object())
      fail("stages.optimise_map redraws a ShopWorld's clicks: {} has no world.json", data.string());
    const int64_t image_size = rewards::dataset_image_size(base, experiment);
    const double threshold = base.world.at("config").at("match_threshold").get<double>();
    const std::string variant = !opt_.judge_variant.empty()
                                    ? opt_.judge_variant
                                    : (base.has_text ? "commercial" : "public");
    const uint64_t pretrain_eval = derive_seed(derive_seed(ctx.seed(), "pretrain"), "eval");
    nlohmann::json grid = nlohmann::json::array();
    for (double v : map_.values) {
      const std::string key = value_key(map_.parameter, v);
      nlohmann::json wcfg = base.world.at("config");
      wcfg[map_.parameter] = v;
      const world::ShopWorld w(world::WorldConfig::from_json(wcfg),
                               base.world.at("seed").get<uint64_t>());
      const data::Dataset d = redraw_history(base, w, "stages.optimise_map: " + key);
      const auto eval = optimisation::loop_products(d, loop_.eval_split, loop_.eval_products,
                                                    pretrain_eval, image_size, &w);
      const auto train = optimisation::loop_products(
          d, "train", 0, derive_seed(ctx.seed(), "optimise_products"), image_size, &w);
      // The judges of this value, trained once on its clicks.
      std::map<std::string, fs::path> trained;
      nlohmann::json judges = nlohmann::json::object();
      for (const auto& a : arms_) {
        if (trained.count(a.judge) ||
            !rewards::create_reward_model(experiment, a.judge, 0)->trainable())
          continue;
        nlohmann::json table = rewards::BenchmarkOptions::defaults();
        table["models"] = {a.judge};
        table["variants"] = {variant};
        table["seeds"] = 1;
        auto bo = rewards::BenchmarkOptions::from_config(table, experiment, ctx.device());
        bo.image_size = image_size;
        if (ctx.has_input("pretrain", "checkpoint"))
          bo.pretrained_checkpoint = ctx.input("pretrain", "checkpoint");
        bo.save_dir = ctx.dir() / "scratch" / key;
        const auto r =
            rewards::run_reward_benchmark(d, bo, experiment, derive_seed(ctx.seed(), key));
        trained[a.judge] = bo.save_dir / variant / a.judge / "seed0";
        const auto& m = r.metrics.at("datasets").at(variant).at("models").at(a.judge);
        judges[a.judge] = {{"observed", m.at("observed")},
                           {"true", m.at("true")},
                           {"consistency", m.at("consistency")}};
        for (const auto& [what, spent] : r.budget.items()) ctx.spend(key + "/judge/" + what, spent);
      }
      ArmsRun run(ctx, d, &w, train, eval, loop_, opt_);
      run.match_threshold = threshold;
      run.image_size = image_size;
      run.seed = derive_seed(derive_seed(ctx.seed(), "optimise"), key);
      run.eval_seed = pretrain_eval;
      run.results = ctx.output("arms") / key;
      run.scratch = ctx.dir() / "scratch" / key;
      run.budget_prefix = key + "/";
      run.judge = [&](const ArmSpec& a, int64_t, uint64_t seed) {
        if (trained.count(a.judge))
          return rewards::load_reward_model(trained.at(a.judge), ctx.device()).model;
        return rewards::create_reward_model(experiment, a.judge, seed);
      };
      grid.push_back({{"value", v}, {"judges", judges}, {"arms", run_arms(arms_, run)}});
    }
    std::error_code ec;
    fs::remove_all(ctx.dir() / "scratch", ec);
    ctx.metrics = {
        {"parameter", map_.parameter},   {"values", map_.values},    {"grid", grid},
        {"loop", fields_to_json(loop_)}, {"judge_variant", variant}, {"simulated", true}};
  }

 private:
  nlohmann::json cfg_;
  MapOptions map_;
  ArmsOptions opt_;
  optimisation::LoopOptions loop_;
  std::vector<ArmSpec> arms_;
  ArmsNeeds needs_;
  std::string judge_backbone_;
};

}  // namespace

void register_optimise_map_stage(Plugins& p) {
  nlohmann::json defaults = arms_stage_defaults(nlohmann::json::array(
      {{{"optimiser", "none"}}, {{"optimiser", "dpo"}}, {{"optimiser", "pcpo"}}}));
  const nlohmann::json map = fields_to_json(MapOptions{});  // named: items() refers into it
  for (auto it = map.begin(); it != map.end(); ++it) defaults[it.key()] = it.value();
  p.stages.add("optimise_map",
               "the loop over a grid of one click-model parameter of the world (default the "
               "mismatch penalty M): clicks redrawn, the judge retrained, every arm rerun per "
               "value, reusing the pretrained prompt model",
               defaults, [](const nlohmann::json& cfg, const PluginContext& ctx) {
                 if (!ctx.experiment) fail("stage optimise_map needs the experiment config");
                 return std::make_unique<OptimiseMapStage>(cfg, *ctx.experiment);
               });
}

}  // namespace caig::stages
