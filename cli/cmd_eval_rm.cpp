// `caig eval-rm`: one reward model on one dataset's pairs, trained here or loaded from a saved
// model (--load, e.g. a run's stages/reward_accuracy/models/commercial/vam/seed0), printed beside
// a stored baseline table when asked.
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "datasets/io/shopworld_dir.h"
#include "harness/config.h"
#include "harness/device.h"
#include "harness/distributed.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/seeds.h"
#include "reports/reward_accuracy_report.h"
#include "rewards/benchmark.h"
#include "rewards/saved_model.h"
#include "stages/stage_data.h"

namespace fs = std::filesystem;

namespace caig::cli {

void add_eval_rm_command(CLI::App& app) {
  struct Options {
    std::string preset = "cpu", data, images, model, load, experiment, variant = "commercial",
                checkpoint, baseline, out, split = "test";
    std::vector<std::string> sets;
    uint64_t seed = 7;
    int seeds = 1;
  };
  auto opt = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "eval-rm", "train (if trainable) and evaluate one reward model on a dataset's test pairs");
  sub->add_option("--data", opt->data,
                  "dataset: a ShopWorld directory (from `caig world`), a CreativeRanking TSV or a "
                  "CG4CTR/CAIG JSON file (as `caig data inspect`)")
      ->required();
  sub->add_option("--images", opt->images,
                  "image folder of a TSV or JSON dataset (default: 'images' beside the file)");
  auto* model_opt = sub->add_option("--model", opt->model, "reward model name (see `caig list`)");
  sub->add_option("--load", opt->load,
                  "a saved reward model directory to score without training (its reward_model.json "
                  "names the model)")
      ->excludes(model_opt)
      ->check(CLI::ExistingDirectory);
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
  auto* variant_opt = sub->get_option("--variant");
  sub->callback([opt, variant_opt] {
    const bool variant_given = variant_opt->count() > 0;
    ResolveRequest req{opt->experiment, opt->preset, opt->sets};
    req.sets.push_back(fmt::format("run.seed={}", opt->seed));
    const nlohmann::json cfg = resolve_config(default_config(), req);
    rewards::check_reward_model_configs(cfg, opt->experiment.empty() ? "--set" : opt->experiment);
    const std::string device =
        dist::join_job("eval-rm",
                       {{"config", cfg},
                        {"data", opt->data},
                        {"model", opt->model},
                        {"load", opt->load},
                        {"variant", opt->variant},
                        {"seeds", opt->seeds},
                        {"split", opt->split}},
                       resolve_device(at_path(cfg, "run.device").get<std::string>()));
    if (!opt->out.empty())
      opt->out = dist::rank_output_dir(opt->out, dist::process_env().rank).string();
    set_torch_threads(at_path(cfg, "run.threads").get<int>());
    seed_torch(derive_seed(opt->seed, "torch"));

    if (opt->model.empty() && opt->load.empty()) fail("eval-rm: give --model NAME or --load DIR");
    if (!opt->load.empty()) {
      if (opt->seeds != 1) fail("eval-rm --load: a saved model has one seed; drop --seeds");
      const auto record = rewards::read_reward_model_record(opt->load);
      opt->model = record.name;
      // Scored on the variant it was trained on, unless asked for another.
      const std::string trained = record.trained_on.value("variant", "");
      if (!trained.empty() && !variant_given) opt->variant = trained;
    }
    nlohmann::json stage = rewards::BenchmarkOptions::defaults();
    stage["variants"] = {opt->variant};
    stage["models"] = {opt->model};
    stage["seeds"] = opt->seeds;
    stage["eval_split"] = opt->split;
    auto bo = rewards::BenchmarkOptions::from_config(stage, cfg, device);
    const data::Dataset d =
        stages::load_stage_dataset(opt->data, cfg, opt->seed, "eval-rm --data", opt->images);
    bo.image_size = rewards::dataset_image_size(d, cfg);
    bo.pretrained_checkpoint = opt->checkpoint;
    bo.load_from = opt->load;
    auto r = rewards::run_reward_benchmark(d, bo, cfg, opt->seed);

    // A text-free dataset is scored as `public` whatever was asked (the metrics say so).
    const std::string variant = r.metrics.at("variants").at(0).get<std::string>();
    nlohmann::json shown = r.metrics;
    if (!opt->baseline.empty()) {
      const auto stored = read_json(fs::path(opt->baseline) / "metrics.json");
      if (!stored.contains("reward_accuracy"))
        fail("--baseline {}: its metrics.json has no reward_accuracy table", opt->baseline);
      shown = stored["reward_accuracy"];
      if (!shown["datasets"].contains(variant))
        fail("--baseline {}: no '{}' variant in its table", opt->baseline, variant);
      const std::string row = opt->model + (opt->load.empty() ? " (eval-rm)" : " (loaded)");
      shown["variants"] = {variant};
      shown["datasets"][variant]["models"][row] =
          r.metrics["datasets"][variant]["models"][opt->model];
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
