// `caig compare RUN_A RUN_B`: two runs' config differences, tables side by side with each
// changed cell, and stage timings (reports/compare_runs.h).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "reports/compare_runs.h"

namespace caig::cli {

void add_compare_command(CLI::App& app) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto* sub = app.add_subcommand(
      "compare", "set two runs' tables side by side, with what changed (config, cells, timings)");
  sub->add_option("runs", *dirs, "two run directories: A (before) and B (after)")
      ->required()
      ->expected(2)
      ->check(CLI::ExistingDirectory);
  sub->callback([dirs] { std::cout << reports::compare_runs(dirs->at(0), dirs->at(1)); });
}

}  // namespace caig::cli
