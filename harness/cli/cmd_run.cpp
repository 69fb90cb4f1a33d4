#include <iostream>

#include <fmt/format.h>

#include "harness/files.h"

#include "harness/cli/commands.h"
#include "harness/cli/stages.h"

namespace caig::cli {

void add_run_command(CLI::App& app) {
  auto req = std::make_shared<RunRequest>();
  auto* sub = app.add_subcommand("run", "run an experiment (TOML) into a run directory");
  sub->add_option("experiment", req->experiment, "experiment file, e.g. experiments/paper.toml")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--preset", req->preset, "preset: smoke, cpu, paper")->capture_default_str();
  sub->add_option("--set", req->sets, "override a key, e.g. --set run.seed=3");
  sub->add_option("--out", req->out,
                  "run directory (default: <run.out_dir>/<name>-<preset>-seed<seed>)");
  sub->add_flag("--force", req->force,
                "replace an existing run directory once the new run completes");
  sub->callback([req] {
    const auto dir = run_experiment(*req);
    const auto timing = read_json(dir / "timing.json");
    std::cout << "run complete: " << dir.string() << "\nreport: " << (dir / "report.md").string()
              << fmt::format("\nwall-clock time: {:.1f} min\n",
                             timing.at("total_seconds").get<double>() / 60.0);
  });
}

void add_report_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("report", "re-render a finished run's report from its JSON files");
  sub->add_option("run_dir", *dir, "run directory")->required()->check(CLI::ExistingDirectory);
  sub->callback([dir] { std::cout << render_reports(*dir); });
}

}  // namespace caig::cli
