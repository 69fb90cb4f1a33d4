// Subcommands of the `caig` executable, one file each.
#pragma once

#include <CLI/CLI.hpp>

namespace caig::cli {

void add_list_command(CLI::App& app);
void add_world_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_report_command(CLI::App& app);  // cmd_run.cpp
void add_data_command(CLI::App& app);
void add_pretrain_command(CLI::App& app);
void add_eval_rm_command(CLI::App& app);
void add_compare_command(CLI::App& app);  // cmd_compare.cpp
void add_bench_command(CLI::App& app);    // cmd_bench.cpp
void add_launch_command(CLI::App& app);   // cmd_launch.cpp

}  // namespace caig::cli
