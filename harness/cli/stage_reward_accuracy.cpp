// The `reward_accuracy` stage (the paper's reward-model table) and `caig eval-rm` (one reward
// model on one pair set, beside a stored baseline table).
#include <iostream>

#include <fmt/format.h>

#include "datasets/io/shopworld_dir.h"
#include "harness/cli/commands.h"
#include "harness/cli/stages.h"
#include "harness/config.h"
#include "harness/device.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "reports/reward_accuracy_report.h"
#include "rewards/benchmark.h"

namespace fs = std::filesystem;

namespace caig::cli {

namespace {

// The image side of a dataset: its own world's when it records one, else the experiment's.
int64_t dataset_image_size(const data::Dataset& d, const nlohmann::json& experiment) {
  if (d.world.is_object() && d.world.contains("config") && d.world["config"].contains("image_size"))
    return d.world["config"]["image_size"].get<int64_t>();
  return at_path(experiment, "world.image_size").get<int64_t>();
}

class RewardAccuracyStage : public Stage {
 public:
  RewardAccuracyStage(nlohmann::json cfg, const nlohmann::json& experiment) : cfg_(std::move(cfg)) {
    // Fail before any stage runs: unknown models, bad model configs, bad variants.
    rewards::check_reward_model_configs(experiment, "reward_models");
    rewards::BenchmarkOptions::from_config(cfg_, experiment, "cpu");
  }

  void run(StageContext& ctx) override {
    const std::string data_dir = cfg_.at("data").get<std::string>();
    const fs::path data = data_dir.empty() ? ctx.run.file("data") : fs::path(data_dir);
    if (!fs::exists(data / "manifest.jsonl"))
      fail(
          "reward_accuracy: no dataset at {} (run the world stage first, or set "
          "stages.reward_accuracy.data)",
          data.string());
    const data::Dataset d = data::load_dataset_dir(data);
    auto opt = rewards::BenchmarkOptions::from_config(cfg_, ctx.experiment, ctx.device);
    opt.image_size = dataset_image_size(d, ctx.experiment);
    const fs::path ck = ctx.run.file("checkpoints/pretrained");
    if (fs::exists(ck / "config.json")) opt.pretrained_checkpoint = ck;
    auto r = rewards::run_reward_benchmark(d, opt, ctx.experiment, ctx.seed);
    ctx.metrics["reward_accuracy"] = r.metrics;
    for (const auto& [key, spent] : r.budget.items()) ctx.budget["reward_accuracy/" + key] = spent;
    ctx.run.write_jsonl("records/reward_accuracy.jsonl", r.records);
  }

 private:
  nlohmann::json cfg_;
};

}  // namespace

void register_reward_accuracy_stage(Plugins& p) {
  add_config_section("reward_models", nlohmann::json::object());  // per-model configs, by name
  p.stages.add("reward_accuracy",
               "the paper's reward-model table: every reward model trained on the same pairs and "
               "budget per seed, pairwise accuracy on test pairs (commercial and public variants)",
               rewards::BenchmarkOptions::defaults(),
               [](const nlohmann::json& cfg, const PluginContext& ctx) {
                 if (!ctx.experiment) fail("stage reward_accuracy needs the experiment config");
                 return std::make_unique<RewardAccuracyStage>(cfg, *ctx.experiment);
               });
}

void add_eval_rm_command(CLI::App& app) {
  struct Options {
    std::string preset = "cpu", data, model, experiment, variant = "commercial", checkpoint,
                baseline, out, split = "test";
    std::vector<std::string> sets;
    uint64_t seed = 7;
    int seeds = 1;
  };
  auto opt = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "eval-rm", "train (if trainable) and evaluate one reward model on a dataset's test pairs");
  sub->add_option("--data", opt->data, "dataset directory (from `caig world`)")->required();
  sub->add_option("--model", opt->model, "reward model name (see `caig list`)")->required();
  sub->add_option("--variant", opt->variant, "commercial, or public (the same data without text)")
      ->capture_default_str();
  sub->add_option("--seeds", opt->seeds, "training seeds")->capture_default_str();
  sub->add_option("--split", opt->split, "the split whose pairs are evaluated (train, val, test)")
      ->capture_default_str();
  sub->add_option("--preset", opt->preset, "preset: smoke, cpu, paper")->capture_default_str();
  sub->add_option("--config", opt->experiment, "experiment TOML ([budget], [reward_models.*])");
  sub->add_option("--set", opt->sets, "override a key, e.g. --set reward_models.vam.lr=0.01");
  sub->add_option("--seed", opt->seed, "run seed")->capture_default_str();
  sub->add_option("--checkpoint", opt->checkpoint, "pretrained backbone for models that need one");
  sub->add_option("--baseline", opt->baseline,
                  "a finished run with a reward_accuracy table to print beside the result");
  sub->add_option("--out", opt->out, "directory for metrics.json, budget.json, predictions.jsonl");
  sub->callback([opt] {
    ResolveRequest req{opt->experiment, opt->preset, opt->sets};
    req.sets.push_back(fmt::format("run.seed={}", opt->seed));
    const nlohmann::json cfg = resolve_config(default_config(), req);
    rewards::check_reward_model_configs(cfg, opt->experiment.empty() ? "--set" : opt->experiment);
    const std::string device = resolve_device(at_path(cfg, "run.device").get<std::string>());
    set_torch_threads(at_path(cfg, "run.threads").get<int>());
    seed_torch(derive_seed(opt->seed, "torch"));

    nlohmann::json stage = rewards::BenchmarkOptions::defaults();
    stage["variants"] = {opt->variant};
    stage["models"] = {opt->model};
    stage["seeds"] = opt->seeds;
    stage["eval_split"] = opt->split;
    auto bo = rewards::BenchmarkOptions::from_config(stage, cfg, device);
    const data::Dataset d = data::load_dataset_dir(opt->data);
    bo.image_size = dataset_image_size(d, cfg);
    bo.pretrained_checkpoint = opt->checkpoint;
    auto r = rewards::run_reward_benchmark(d, bo, cfg, opt->seed);

    nlohmann::json shown = r.metrics;
    if (!opt->baseline.empty()) {
      const auto stored = read_json(fs::path(opt->baseline) / "metrics.json");
      if (!stored.contains("reward_accuracy"))
        fail("--baseline {}: its metrics.json has no reward_accuracy table", opt->baseline);
      shown = stored["reward_accuracy"];
      if (!shown["datasets"].contains(opt->variant))
        fail("--baseline {}: no '{}' variant in its table", opt->baseline, opt->variant);
      const std::string row = opt->model + " (eval-rm)";
      shown["variants"] = {opt->variant};
      shown["datasets"][opt->variant]["models"][row] =
          r.metrics["datasets"][opt->variant]["models"][opt->model];
      shown["models"].push_back(row);
    }
    std::cout << reports::reward_accuracy_table(shown).markdown();
    if (!opt->out.empty()) {
      fs::create_directories(opt->out);
      write_json_atomic(fs::path(opt->out) / "metrics.json", {{"reward_accuracy", r.metrics}});
      write_json_atomic(fs::path(opt->out) / "budget.json", r.budget);
      write_jsonl_atomic(fs::path(opt->out) / "predictions.jsonl", r.records);
      write_json_atomic(fs::path(opt->out) / "config.json", cfg);
    }
  });
}

}  // namespace caig::cli
