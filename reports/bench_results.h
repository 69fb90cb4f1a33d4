// `caig bench`'s tables, from Google Benchmark's JSON alone: one row per case (binary, name, time
// per iteration, items/s and every user counter such as tokens/s, GFLOP/s, fraction of the matmul
// peak, peak memory), and two such result directories side by side with B / A per case.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig::reports {

struct BenchCase {
  std::string binary, name;
  double time_ns = 0;                                    // real time per iteration
  std::vector<std::pair<std::string, double>> counters;  // items_per_second and user counters
};

// The cases of one Google Benchmark JSON (`binary` names it). Aggregates (mean, median, stddev of
// repetitions) keep only the median where there are repetitions. A file without "benchmarks", or
// a case without a name or time, is an Error naming `where`.
std::vector<BenchCase> bench_cases(const nlohmann::json& gbench, const std::string& binary,
                                   const std::string& where);

// The Markdown table of the cases.
std::string bench_markdown(const std::vector<BenchCase>& cases);

// Every <binary>.json in dir (as `caig bench --out dir` writes them).
std::vector<BenchCase> read_bench_dir(const std::filesystem::path& dir);

// A and B side by side: time and each shared counter of a case both have, with B / A; cases of
// one side only are listed as such.
std::string bench_compare_markdown(const std::vector<BenchCase>& a,
                                   const std::vector<BenchCase>& b);

}  // namespace caig::reports
