// The runner behind `caig run`: resolves an experiment's config, checks the stages' contract
// (harness/stage.h) before anything runs, then runs the stages in order into a run directory,
// reusing every complete stage whose dependencies hash as recorded and whose files are intact, and
// rerunning the first that is not and every stage after it. The run's metrics.json, budget.json
// and timing.json are assembled from the stages' folders and the report is rendered from them.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

struct RunRequest {
  std::filesystem::path experiment;
  std::string preset = "cpu";
  std::vector<std::string> sets;
  std::filesystem::path out;  // empty: <run.out_dir>/<name>-<preset>-seed<seed>
  bool force = false;         // rerun every stage
  std::string from;           // rerun from this stage on (empty: from the first that must)
};

struct RunOutcome {
  std::filesystem::path dir;
  std::vector<std::string> reused, ran;  // stage names
  double seconds = 0;                    // wall time of this invocation
};

// The [run] section's keys and defaults (name, experiment, preset, seed, device, threads,
// out_dir, stages, reports).
nlohmann::json run_config_defaults();

// The resolved config of a request, with every stage's config resolved under stages.<name>.
nlohmann::json resolve_run_config(const RunRequest& request);

// Runs the experiment; `log` receives one line per stage (reused, or why it runs). An interrupt
// (SIGINT / SIGTERM) ends the stage in progress with an Interrupted error whose message says how
// to resume.
RunOutcome run_experiment(const RunRequest& request, std::ostream& log);

// Re-renders report.md and the tables and figures of a finished run from its JSON files.
std::string render_reports(const std::filesystem::path& run_dir);

}  // namespace caig
