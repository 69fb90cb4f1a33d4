#include "harness/cli/stages.h"

#include <chrono>

#include <fmt/format.h>

#include "datasets/shopworld/world_config.h"
#include "harness/budget.h"
#include "harness/cli/world_output.h"
#include "harness/config.h"
#include "harness/device.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/run_dir.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "metrics/world_calibration.h"
#include "reports/report.h"

namespace fs = std::filesystem;

namespace caig::cli {

namespace {

// Generates the world of the experiment's [world] section into <run>/data, with its calibration
// figures as metrics and the oracle's verdict on every pair as records.
class WorldStage : public Stage {
 public:
  explicit WorldStage(const nlohmann::json& cfg) : threads_(cfg.at("threads").get<int>()) {}

  void run(StageContext& ctx) override {
    const auto config = world::WorldConfig::from_json(at_path(ctx.experiment, "world"));
    const uint64_t world_seed = derive_seed(ctx.seed, "world");
    BudgetMeter meter(BudgetLimits{}, "cpu");  // the simulator runs on the CPU
    meter.start();
    WorldOutput out = write_world(config, world_seed, ctx.run.file("data"), false, threads_);
    meter.stop();
    meter.add_samples(static_cast<int64_t>(out.dataset.creatives.size()));
    nlohmann::json m = out.calibration;
    m["world_seed"] = world_seed;
    m["generation_seconds"] = out.generation_seconds;
    ctx.metrics["world"] = m;
    ctx.budget["world"] = meter.spent();

    std::vector<nlohmann::json> rows;
    const auto verdicts = metrics::oracle_pairs(out.dataset);
    for (size_t i = 0; i < verdicts.size(); ++i) {
      const auto& p = out.dataset.pairs[i];
      rows.push_back({{"product_id", p.product_id},
                      {"left", p.left},
                      {"right", p.right},
                      {"label", p.label},
                      {"oracle_correct", verdicts[i].correct},
                      {"oracle_tie", verdicts[i].tie}});
    }
    ctx.run.write_jsonl("records/world_pairs.jsonl", rows);
  }

 private:
  int threads_;
};

std::string default_run_name(const nlohmann::json& cfg) {
  const auto& run = cfg.at("run");
  std::string name = run.at("name").get<std::string>();
  if (name.empty()) name = "defaults";
  return fmt::format("{}-{}-seed{}", name, run.at("preset").get<std::string>(),
                     run.at("seed").get<uint64_t>());
}

std::string render_into(const fs::path& dir, const nlohmann::json& config,
                        const nlohmann::json& metrics, const nlohmann::json& budget,
                        const nlohmann::json& timing) {
  std::string md = fmt::format("# caig-bench run `{}` (preset `{}`, seed {})\n\n",
                               config.at("run").at("name").get<std::string>(),
                               config.at("run").at("preset").get<std::string>(),
                               config.at("run").at("seed").get<uint64_t>());
  md += "Every CTR in this report comes from the ShopWorld simulator, not from real users.\n\n";
  ReportContext ctx{config, metrics, budget, dir};
  PluginContext pctx{&config, config.at("run").at("seed").get<uint64_t>()};
  for (const auto& name : config.at("run").at("reports")) {
    auto report = plugins().reports.create(name.get<std::string>(), nlohmann::json(), pctx);
    md += report->render(ctx) + "\n";
  }
  md += "## Budget spent\n\n| stage | device | samples | steps | device s | peak memory (MiB) |\n";
  md += "| --- | --- | ---: | ---: | ---: | ---: |\n";
  for (const auto& [stage, b] : budget.items())
    md += fmt::format("| {} | {} | {} | {} | {:.2f} | {:.0f} |\n", stage,
                      b.at("device").get<std::string>(), b.at("samples").get<int64_t>(),
                      b.at("steps").get<int64_t>(), b.at("device_seconds").get<double>(),
                      static_cast<double>(b.at("peak_memory_bytes").get<int64_t>()) / (1 << 20));
  if (timing.is_object() && timing.contains("total_seconds")) {
    std::string parts;
    for (const auto& [stage, sec] : timing.at("stages").items())
      parts += fmt::format("{}{} {:.0f} s", parts.empty() ? "" : ", ", stage, sec.get<double>());
    md += fmt::format("\nWall-clock time of the run: {:.1f} min ({}).\n",
                      timing.at("total_seconds").get<double>() / 60.0, parts);
  }
  write_file_atomic(dir / "report.md", md);
  return md;
}

}  // namespace

void register_stages(Plugins& p) {
  p.stages.add("world",
               "generate the experiment's ShopWorld into <run>/data and report its calibration",
               {{"threads", 0}}, [](const nlohmann::json& cfg, const PluginContext&) {
                 return std::make_unique<WorldStage>(cfg);
               });
}

fs::path run_experiment(const RunRequest& request) {
  nlohmann::json cfg =
      resolve_config(default_config(), {request.experiment, request.preset, request.sets});
  const auto& run = cfg.at("run");
  const uint64_t seed = run.at("seed").get<uint64_t>();
  // Every stage and report named must exist before anything runs, and their configs must check.
  std::vector<std::unique_ptr<Stage>> stages;
  PluginContext pctx{&cfg, seed};
  for (const auto& s : run.at("stages")) {
    const std::string name = s.get<std::string>();
    const nlohmann::json overrides =
        cfg["stages"].contains(name) ? cfg["stages"][name] : nlohmann::json();
    cfg["stages"][name] =
        plugins().stages.resolve_config(name, overrides, request.experiment.string());
    stages.push_back(plugins().stages.create(name, overrides, pctx, request.experiment.string()));
  }
  for (const auto& [name, c] : cfg["stages"].items())  // configs of stages not run still check
    plugins().stages.resolve_config(name, c, request.experiment.string());
  for (const auto& r : run.at("reports")) plugins().reports.get(r.get<std::string>());

  const std::string device = resolve_device(run.at("device").get<std::string>());
  set_torch_threads(run.at("threads").get<int>());
  seed_torch(derive_seed(seed, "torch"));

  const fs::path out = request.out.empty()
                           ? fs::path(run.at("out_dir").get<std::string>()) / default_run_name(cfg)
                           : request.out;
  RunDir dir(out, request.force);
  dir.write_json("config.json", cfg);
  dir.write_json("env.json", environment_info(device));
  nlohmann::json metrics = nlohmann::json::object(), budget = nlohmann::json::object();
  // Wall-clock time per stage (not a budget: it includes data loading and evaluation).
  nlohmann::json timing = {{"stages", nlohmann::json::object()}};
  const auto run_start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < stages.size(); ++i) {
    StageContext ctx{cfg, dir, seed, device, metrics, budget};
    const auto t0 = std::chrono::steady_clock::now();
    stages[i]->run(ctx);
    timing["stages"][run.at("stages")[i].get<std::string>()] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  timing["total_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  dir.write_json("metrics.json", metrics);
  dir.write_json("budget.json", budget);
  dir.write_json("timing.json", timing);
  render_into(dir.path(), cfg, metrics, budget, timing);
  dir.commit();
  return dir.path();
}

std::string render_reports(const fs::path& run_dir) {
  if (!fs::exists(run_dir / "metrics.json"))
    fail("{} is not a finished run (no metrics.json)", run_dir.string());
  const nlohmann::json timing =
      fs::exists(run_dir / "timing.json") ? read_json(run_dir / "timing.json") : nlohmann::json();
  return render_into(run_dir, read_json(run_dir / "config.json"),
                     read_json(run_dir / "metrics.json"), read_json(run_dir / "budget.json"),
                     timing);
}

}  // namespace caig::cli
