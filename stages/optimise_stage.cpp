// The `optimise` stage, the paper's second result: the CTR-driven loop (optimisation/ctr_loop.h)
// run for every arm (prompt model x optimiser x judge x renderer) and seed with the same products,
// budget and measurement (optimise_arms.h). Reads the world stage's `data`, the pretrain stage's
// `checkpoint` when a prompt model starts from it, and the reward_accuracy stage's `models` when a
// judge is a trained reward model; writes `arms/<arm>/seed<s>.json` (each arm's rows, kept as they
// finish, so an interrupted stage resumes at the first arm it had not finished) and the optimised
// prompt models it keeps (`models/<arm>/seed<s>/`).
#include <fmt/format.h>

#include "datasets/shopworld/shopworld.h"
#include "harness/config.h"
#include "harness/content_hash.h"
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

class OptimiseStage : public Stage {
 public:
  OptimiseStage(nlohmann::json cfg, const nlohmann::json& experiment)
      : cfg_(std::move(cfg)),
        opt_(fields_from_json<ArmsOptions>(cfg_, "stages.optimise", true)),
        loop_(fields_from_json<optimisation::LoopOptions>(cfg_, "stages.optimise", true)) {
    loop_.check();
    opt_.check("stages.optimise");
    arms_ = parse_arms(cfg_.at("arms"), opt_, "stages.optimise");
    needs_ = check_arms(experiment, arms_, loop_);  // before any stage runs
  }

  std::vector<ArtifactRef> reads() const override {
    std::vector<ArtifactRef> r;
    if (opt_.data.empty())
      r.push_back(
          {"world", "data", "the products the loop writes for; or set stages.optimise.data"});
    if (!needs_.backbone_user.empty())
      r.push_back(
          {"pretrain", "checkpoint",
           "prompt model '" + needs_.backbone_user + "' starts from the pretrained backbone"});
    if (!needs_.trained_judge.empty())
      r.push_back(
          {"reward_accuracy", "models",
           "judge '" + needs_.trained_judge + "' is a trained reward model, loaded from there"});
    return r;
  }
  std::vector<std::string> writes() const override { return {"arms", "models"}; }
  std::vector<std::string> config_keys() const override {
    return {"optimisers",    "prompt_models",    "renderers",
            "reward_models", "world.image_size", "world.match_threshold"};
  }
  nlohmann::json external_fingerprint() const override {
    nlohmann::json f = nlohmann::json::object();
    if (!opt_.data.empty()) f["data"] = hash_bytes(hash_tree(opt_.data).dump());
    for (const auto& file : needs_.external_files)
      f[file] = fs::exists(file) ? hash_file(file) : "missing";
    return f.empty() ? nlohmann::json(nullptr) : f;
  }
  bool resumable() const override { return true; }

  void run(StageContext& ctx) override {
    const auto& experiment = ctx.experiment();
    const fs::path data = opt_.data.empty() ? ctx.input("world", "data") : fs::path(opt_.data);
    const data::Dataset d =
        load_stage_dataset(data, experiment, ctx.seed(), "stages.optimise.data");
    const auto world = optimisation::dataset_world(d);
    const int64_t image_size = rewards::dataset_image_size(d, experiment);
    const double threshold =
        d.world.is_object() ? d.world.at("config").at("match_threshold").get<double>() : 0.5;
    const std::string variant =
        !opt_.judge_variant.empty() ? opt_.judge_variant : (d.has_text ? "commercial" : "public");
    // The held-out measurement samples as pretraining's evaluation does for seed 0: with
    // eval_split = "val" and pretraining's sizes, iteration 0 reproduces its match rate.
    const uint64_t pretrain_eval = derive_seed(derive_seed(ctx.seed(), "pretrain"), "eval");
    const auto eval = optimisation::loop_products(d, loop_.eval_split, loop_.eval_products,
                                                  pretrain_eval, image_size, world.get());
    const auto train = optimisation::loop_products(
        d, "train", 0, derive_seed(ctx.seed(), "optimise_products"), image_size, world.get());
    ArmsRun run(ctx, d, world.get(), train, eval, loop_, opt_);
    run.match_threshold = threshold;
    run.image_size = image_size;
    run.seed = derive_seed(ctx.seed(), "optimise");
    run.eval_seed = pretrain_eval;
    if (ctx.has_input("pretrain", "checkpoint"))
      run.checkpoint = ctx.input("pretrain", "checkpoint");
    run.results = ctx.output("arms");
    run.models = ctx.output("models");
    run.scratch = ctx.dir() / "scratch";
    run.budget_prefix = "";
    fs::create_directories(run.results);
    fs::create_directories(run.models);
    // A trainable judge is the model the reward_accuracy stage kept (seed s where it kept all).
    run.judge = [&](const ArmSpec& a, int64_t s, uint64_t seed) {
      return stage_judge(ctx, a.judge, variant, s, seed, "arm '" + a.name + "'");
    };
    const auto arms = run_arms(arms_, run);
    std::error_code ec;
    fs::remove_all(run.scratch, ec);
    ctx.metrics = {{"arms", arms},
                   {"loop", fields_to_json(loop_)},
                   {"judge_variant", variant},
                   {"match_threshold", threshold},
                   {"train_products", train.size()},
                   {"eval_products", eval.size()},
                   {"simulated", d.world.is_object()}};
  }

 private:
  nlohmann::json cfg_;
  ArmsOptions opt_;
  optimisation::LoopOptions loop_;
  std::vector<ArmSpec> arms_;
  ArmsNeeds needs_;
};

}  // namespace

void register_optimise_stage(Plugins& p) {
  add_config_section("prompt_models", nlohmann::json::object());
  add_config_section("optimisers", nlohmann::json::object());
  add_config_section("renderers", nlohmann::json::object());
  p.stages.add("optimise",
               "the CTR-driven loop (paper section 5): per arm (prompt model x optimiser x judge x "
               "renderer) and seed, iterations of sample -> render -> judge -> train; match rate, "
               "proxy and gold reward, KL per iteration; keeps the optimised prompt models",
               arms_stage_defaults(nlohmann::json::array(
                   {{{"optimiser", "none"}}, {{"optimiser", "dpo"}}, {{"optimiser", "pcpo"}}})),
               [](const nlohmann::json& cfg, const PluginContext& ctx) {
                 if (!ctx.experiment) fail("stage optimise needs the experiment config");
                 return std::make_unique<OptimiseStage>(cfg, *ctx.experiment);
               });
}

}  // namespace caig::stages
