// `caig run` (an experiment into a run directory, reusing and resuming its stages) and
// `caig report` (re-render a finished run from its JSON).
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "harness/error.h"
#include "harness/interrupt.h"
#include "harness/runner.h"

namespace caig::cli {

namespace {

const char* const kRunContract = R"(
Each stage of run.stages writes into <run>/stages/<name>/: its artifacts, metrics.json,
budget.json, records.jsonl, and last stage.json with the hash of everything it depends on (its
[stages.<name>] config, the config sections it reads, the seed, the device, the code's version,
and the files of the stages it reads). Before anything runs, every stage's inputs must come from
a stage earlier in run.stages.

Running again on an existing run directory reuses every stage whose stage.json is complete, whose
hash matches and whose files are intact; it reruns the first stage that is not, and every stage
after it. A run killed at any point (Ctrl-C, SIGTERM, SIGKILL) resumes this way and gives the
same results as an uninterrupted run with the same seed; pretraining continues from its last
checkpoint. metrics.json, budget.json, timing.json and report.md are assembled from the stages.)";

}  // namespace

void add_run_command(CLI::App& app) {
  auto req = std::make_shared<RunRequest>();
  auto* sub = app.add_subcommand(
      "run", "run an experiment (TOML) into a run directory, reusing and resuming its stages");
  sub->footer(kRunContract);
  sub->add_option("experiment", req->experiment, "experiment file, e.g. experiments/paper.toml")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--preset", req->preset, "preset: smoke, cpu, paper")->capture_default_str();
  sub->add_option("--set", req->sets, "override a key, e.g. --set run.seed=3");
  sub->add_option("--out", req->out,
                  "run directory (default: <run.out_dir>/<name>-<preset>-seed<seed>); an "
                  "existing one is resumed");
  sub->add_flag("--force", req->force, "rerun every stage, reusing none");
  sub->add_option("--from", req->from, "rerun from this stage on, reusing the stages before it");
  sub->callback([req] {
    try {
      const auto r = run_experiment(*req, std::cout);
      std::cout << fmt::format(
          "run complete: {}\nreport: {}\nstages reused: {}; ran: {}\n"
          "wall-clock time: {:.1f} min\n",
          r.dir.string(), (r.dir / "report.md").string(),
          r.reused.empty() ? "none" : fmt::format("{}", fmt::join(r.reused, ", ")),
          r.ran.empty() ? "none" : fmt::format("{}", fmt::join(r.ran, ", ")), r.seconds / 60.0);
    } catch (const Interrupted& e) {
      std::cerr << "caig: " << e.what() << "\n";
      std::exit(130);
    }
  });
}

void add_report_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("report", "re-render a finished run's report from its JSON files");
  sub->add_option("run_dir", *dir, "run directory")->required()->check(CLI::ExistingDirectory);
  sub->callback([dir] { std::cout << render_reports(*dir); });
}

}  // namespace caig::cli
