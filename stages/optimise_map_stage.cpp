// The `optimise_map` stage, beyond the paper: when does PCPO's advantage over DPO appear? For each
// value of one click-model parameter of the world (default the mismatch penalty M), the logged
// history's clicks are drawn again under it (the same products, creatives, images and splits, so
// the pretrained prompt model and backbone stay valid and are reused), the judge is trained on
// those clicks (for a trainable judge, with the run's [budget]), and every arm runs the loop with
// the world of that value as the gold reward. A second, optional axis (`world_parameter`, e.g.
// the designers' match rate rho) changes the logged creatives themselves: per value of it the
// stage generates that world and pretrains on it, then runs the first axis on it (a heat map).
// Writes `arms/[<world_parameter>=<w>/]<parameter>=<value>/<arm>/seed<s>.json` as they finish;
// the worlds and checkpoints of the second axis are kept until the stage ends, so an interrupted
// stage resumes where it was. A first-axis parameter that changes the creatives is an error.
#include <fmt/format.h>

#include "datasets/shopworld/shopworld.h"
#include "datasets/shopworld/world_config.h"
#include "harness/budget.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "optimisation/loop_products.h"
#include "rewards/benchmark.h"
#include "rewards/reward_model.h"
#include "rewards/saved_model.h"
#include "stages/optimise_arms.h"
#include "stages/pretrain_stage.h"
#include "stages/register.h"
#include "stages/stage_data.h"
#include "stages/world_output.h"

namespace fs = std::filesystem;

namespace caig::stages {

namespace {

struct MapOptions {
  std::string parameter = "mismatch_penalty";  // a key of [world]
  std::vector<double> values{0.0, 0.3, 0.6, 1.2, 2.4};
  std::string world_parameter = "";  // a key of [world] the creatives depend on; empty: no axis
  std::vector<double> world_values;  // each: its own world and pretraining
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("parameter", o.parameter);
    f("values", o.values);
    f("world_parameter", o.world_parameter);
    f("world_values", o.world_values);
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
    auto numeric_key = [&](const std::string& key, const char* field) {
      if (!world.contains(key) || !world[key].is_number())
        fail("stages.optimise_map.{}: '{}' is not a numeric key of [world]", field, key);
    };
    numeric_key(map_.parameter, "parameter");
    if (!map_.world_parameter.empty()) {
      numeric_key(map_.world_parameter, "world_parameter");
      if (map_.world_parameter == map_.parameter)
        fail("stages.optimise_map: world_parameter and parameter are both '{}'", map_.parameter);
      if (map_.world_values.empty())
        fail("stages.optimise_map.world_values is empty (world_parameter is '{}')",
             map_.world_parameter);
      if (!opt_.data.empty())
        fail(
            "stages.optimise_map: data and world_parameter exclude each other (the stage "
            "generates a world per value of {})",
            map_.world_parameter);
    } else if (!map_.world_values.empty()) {
      fail("stages.optimise_map.world_values is set but world_parameter is empty");
    }
    arms_ = parse_arms(cfg_.at("arms"), opt_, "stages.optimise_map");
    needs_ = check_arms(experiment, arms_, loop_);
    for (const auto& a : arms_)
      if (rewards::create_reward_model(experiment, a.judge, 0)->needs_pretrained_backbone())
        judge_backbone_ = a.judge;
  }

  std::vector<ArtifactRef> reads() const override {
    std::vector<ArtifactRef> r;
    if (world_axis()) return r;  // it generates and pretrains its own worlds
    if (opt_.data.empty())
      r.push_back({"world", "data", "the products and creatives whose clicks are redrawn"});
    if (!needs_.backbone_user.empty() || !judge_backbone_.empty())
      r.push_back({"pretrain", "checkpoint",
                   "the prompt model and the judge start from the pretrained backbone"});
    return r;
  }
  std::vector<std::string> writes() const override { return {"arms"}; }
  std::vector<std::string> config_keys() const override {
    std::vector<std::string> k = {"optimisers",    "prompt_models", "renderers",
                                  "reward_models", "world",         "budget"};
    if (world_axis()) k.insert(k.end(), {"backbone", "pretrain"});
    return k;
  }
  bool resumable() const override { return true; }

  void run(StageContext& ctx) override {
    nlohmann::json rows = nlohmann::json::array();
    if (!world_axis()) {
      const fs::path data = opt_.data.empty() ? ctx.input("world", "data") : fs::path(opt_.data);
      const fs::path checkpoint = ctx.has_input("pretrain", "checkpoint")
                                      ? ctx.input("pretrain", "checkpoint")
                                      : fs::path();
      rows.push_back({{"value", nullptr},
                      {"grid", run_columns(ctx, data, checkpoint, "", ctx.output("arms"))}});
    }
    for (double wv : map_.world_values) {
      const std::string wkey = value_key(map_.world_parameter, wv);
      const fs::path wdir = ctx.dir() / "scratch" / "worlds" / wkey;
      const auto [pretraining, checkpoint] = world_and_pretraining(ctx, wv, wdir, wkey);
      rows.push_back({{"value", wv},
                      {"pretraining", pretraining},
                      {"grid", run_columns(ctx, wdir / "data", checkpoint, wkey + "/",
                                           ctx.output("arms") / wkey)}});
    }
    std::error_code ec;
    fs::remove_all(ctx.dir() / "scratch", ec);
    ctx.metrics = {
        {"parameter", map_.parameter},
        {"values", map_.values},
        {"world_parameter", world_axis() ? nlohmann::json(map_.world_parameter) : nlohmann::json()},
        {"world_values", map_.world_values},
        {"rows", rows},
        {"loop", fields_to_json(loop_)},
        {"simulated", true}};
  }

 private:
  bool world_axis() const { return !map_.world_parameter.empty(); }

  // The world of world_parameter = v (the run's world seed) and the backbone pretrained on it,
  // under `wdir`; both kept across an interrupt (the world is written whole, the pretraining
  // resumes from its checkpoint, its result is written last). Returns the pretraining's
  // metrics and the checkpoint.
  std::pair<nlohmann::json, fs::path> world_and_pretraining(StageContext& ctx, double v,
                                                            const fs::path& wdir,
                                                            const std::string& key) {
    const auto& experiment = ctx.experiment();
    const fs::path data = wdir / "data", checkpoint = wdir / "checkpoint";
    const fs::path done = wdir / "pretraining.json";
    if (!fs::exists(data / "manifest.jsonl")) {
      nlohmann::json wcfg = at_path(experiment, "world");
      wcfg[map_.world_parameter] = v;
      BudgetMeter meter(BudgetLimits{}, "cpu");  // the simulator runs on the CPU
      meter.start();
      const auto out = write_world(world::WorldConfig::from_json(wcfg),
                                   derive_seed(ctx.seed(), "world"), data, true, 0);
      meter.stop();
      meter.add_samples(static_cast<int64_t>(out.dataset.creatives.size()));
      write_json_atomic(wdir / "world_spent.json", meter.spent());
    }
    ctx.spend(key + "/world", read_json(wdir / "world_spent.json"));
    if (!fs::exists(done)) {
      auto r = run_pretraining(experiment, data, ctx.device(), ctx.seed(), checkpoint,
                               fs::exists(checkpoint));
      nlohmann::json m = r.metrics;
      m.erase("history");
      m.erase("schedule");
      write_json_atomic(done, {{"metrics", m}, {"spent", r.spent}});
    }
    const auto result = read_json(done);
    ctx.spend(key + "/pretrain", result.at("spent"));
    return {result.at("metrics"), checkpoint};
  }

  // The first axis on the dataset at `data` with the backbone at `checkpoint` (or none): per
  // value, the clicks redrawn, the judges retrained and every arm run; results under `results`.
  nlohmann::json run_columns(StageContext& ctx, const fs::path& data, const fs::path& checkpoint,
                             const std::string& prefix, const fs::path& results) {
    const auto& experiment = ctx.experiment();
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
      const std::string key = prefix + value_key(map_.parameter, v);
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
        bo.pretrained_checkpoint = checkpoint;
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
      run.checkpoint = checkpoint;
      run.results = results / value_key(map_.parameter, v);
      run.scratch = ctx.dir() / "scratch" / key;
      run.budget_prefix = key + "/";
      run.judge = [&](const ArmSpec& a, int64_t, uint64_t seed) {
        if (trained.count(a.judge))
          return rewards::load_reward_model(trained.at(a.judge), ctx.device()).model;
        return rewards::create_reward_model(experiment, a.judge, seed);
      };
      grid.push_back({{"value", v},
                      {"judges", judges},
                      {"judge_variant", variant},
                      {"arms", run_arms(arms_, run)}});
    }
    return grid;
  }

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
