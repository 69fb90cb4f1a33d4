// `caig compare RUN_A RUN_B`: the everyday question after changing one thing. Reads only what the
// runs stored (config.json, timing.json, tables/*.csv) and writes Markdown: the config keys that
// differ, then every table of either run with each cell that differs shown as "A → B (±change)",
// rows matched by their first cell (and its occurrence), then the stage timings.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace caig::reports {

// A CSV file as Table::csv writes it (RFC 4180 quoting); a ragged row is an Error naming the
// file and line.
std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& file);

// The leading number of a cell ("49.1 [46.9, 51.5]" -> 49.1, "+3.2%" -> 3.2); false when the cell
// does not start with one.
bool leading_number(const std::string& cell, double& value);

// The comparison, as Markdown. Either directory without config.json is an Error (not a run).
std::string compare_runs(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace caig::reports
