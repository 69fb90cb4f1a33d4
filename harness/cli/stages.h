// Stages of `caig run` and the runner that executes an experiment into a run directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/plugins.h"

namespace caig::cli {

void register_stages(Plugins& p);
void register_pretrain_stage(Plugins& p);  // stage_pretrain.cpp
void register_reward_accuracy_stage(Plugins& p);  // stage_reward_accuracy.cpp

struct RunRequest {
  std::filesystem::path experiment;
  std::string preset = "cpu";
  std::vector<std::string> sets;
  std::filesystem::path out;  // empty: <run.out_dir>/<name>-<preset>-seed<seed>
  bool force = false;
};

// Resolves the config, runs every stage, writes config.json, env.json, metrics.json,
// budget.json, records and the report, and commits the run directory. Returns its path.
std::filesystem::path run_experiment(const RunRequest& request);

// Re-renders report.md and the tables of a finished run from its JSON files.
std::string render_reports(const std::filesystem::path& run_dir);

}  // namespace caig::cli
