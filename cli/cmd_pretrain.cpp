// `caig pretrain`: e-commerce pretraining of the backbone on a ShopWorld dataset directory, by
// hand (the `pretrain` stage runs the same inside `caig run`).
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "harness/config.h"
#include "harness/device.h"
#include "harness/distributed.h"
#include "harness/files.h"
#include "harness/seeds.h"
#include "reports/pretraining_report.h"
#include "stages/pretrain_stage.h"

namespace fs = std::filesystem;

namespace caig::cli {

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
    // In a data-parallel job every rank trains; rank 0 writes the checkpoint to --out, rank r
    // its replica beside it, to <out>.rank<r> (the checkpoint directory is replaced whole).
    const std::string device =
        dist::join_job("pretrain", {{"config", cfg}, {"data", opt->data}, {"resume", opt->resume}},
                       resolve_device(at_path(cfg, "run.device").get<std::string>()));
    opt->out = dist::rank_sibling_dir(opt->out, dist::process_env().rank).string();
    set_torch_threads(at_path(cfg, "run.threads").get<int>());
    seed_torch(derive_seed(opt->seed, "torch"));
    if (opt->resume && !fs::exists(fs::path(opt->out) / "optimizer.pt"))
      std::cerr << "caig pretrain: no checkpoint with optimizer state in " << opt->out
                << " to resume; training from scratch\n";
    auto r = stages::run_pretraining(cfg, opt->data, device, opt->seed, opt->out, opt->resume);
    write_json_atomic(
        fs::path(opt->out) / "pretrain_metrics.json",
        {{"metrics", r.metrics}, {"budget", r.spent}, {"config", cfg}, {"resumed", r.resumed}});
    std::cout << reports::pretraining_table(r.metrics).markdown()
              << fmt::format("\ncheckpoint: {} ({} steps, {:.1f} device s)\n", opt->out,
                             r.metrics.at("steps").get<int64_t>(),
                             r.spent.at("device_seconds").get<double>());
  });
}

}  // namespace caig::cli
