// `caig bench`: runs the Google Benchmark binaries built beside `caig` (build/bench/bench_*) and
// writes each one's JSON, env.json and a Markdown table into a result directory;
// `caig bench --compare A B` sets two such directories side by side (reports/bench_results.h).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "harness/device.h"
#include "harness/error.h"
#include "harness/files.h"
#include "reports/bench_results.h"

namespace fs = std::filesystem;

namespace caig::cli {

namespace {

struct BenchRequest {
  std::string out = "runs/bench";
  std::string filter;
  std::vector<std::string> binaries;
  std::string bench_dir;
  double min_time = 0;  // seconds; 0: Google Benchmark's default
  int repetitions = 0;
  std::vector<std::string> compare;
};

fs::path default_bench_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find the caig executable's directory: give --bench-dir");
  return exe.parent_path().parent_path() / "bench";
}

// Runs argv[0] with argv, stdout and stderr passed through; its exit status.
int run_binary(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) fail("cannot start {}", args[0]);
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void run_bench(const BenchRequest& r) {
  if (!r.compare.empty()) {
    std::cout << "# caig bench --compare\n\nA: `" << r.compare[0] << "`\nB: `" << r.compare[1]
              << "`\n\n"
              << reports::bench_compare_markdown(reports::read_bench_dir(r.compare[0]),
                                                 reports::read_bench_dir(r.compare[1]));
    return;
  }
  const fs::path dir = r.bench_dir.empty() ? default_bench_dir() : fs::path(r.bench_dir);
  std::vector<std::string> names = r.binaries;
  if (names.empty()) {
    if (fs::is_directory(dir))
      for (const auto& e : fs::directory_iterator(dir)) {
        const auto n = e.path().filename().string();
        if (n.rfind("bench_", 0) == 0 && e.is_regular_file() &&
            (e.status().permissions() & fs::perms::owner_exec) != fs::perms::none)
          names.push_back(n);
      }
    std::sort(names.begin(), names.end());
    if (names.empty())
      fail("no benchmark binaries (bench_*) in {}: build them first", dir.string());
  }
  const fs::path out = r.out;
  const fs::path staging = out.string() + ".partial";
  fs::remove_all(staging);
  fs::create_directories(staging);
  std::vector<reports::BenchCase> cases;
  for (const auto& n : names) {
    const fs::path bin = dir / n;
    if (!fs::exists(bin)) fail("no benchmark binary {} (binaries are bench_*)", bin.string());
    const fs::path json = staging / (n + ".json");
    std::vector<std::string> args = {bin.string(), "--benchmark_out=" + json.string(),
                                     "--benchmark_out_format=json"};
    if (!r.filter.empty()) args.push_back("--benchmark_filter=" + r.filter);
    if (r.min_time > 0) args.push_back(fmt::format("--benchmark_min_time={}", r.min_time));
    if (r.repetitions > 0) {
      args.push_back(fmt::format("--benchmark_repetitions={}", r.repetitions));
      args.push_back("--benchmark_report_aggregates_only=true");
    }
    std::cerr << "caig bench: " << n << "\n";
    const int status = run_binary(args);
    if (status != 0) fail("{} exited with status {}", bin.string(), status);
    auto c = reports::bench_cases(read_json(json), n, json.string());
    cases.insert(cases.end(), c.begin(), c.end());
  }
  write_json_atomic(staging / "env.json", environment_info(resolve_device("auto")));
  const std::string md =
      fmt::format("# caig bench\n\n{} cases of {}.\n\n", cases.size(), fmt::join(names, ", ")) +
      reports::bench_markdown(cases);
  write_file_atomic(staging / "results.md", md);
  // The result directory appears whole or not at all.
  fs::remove_all(out);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  fs::rename(staging, out);
  std::cout << md << "\nresults: " << out.string() << "\n";
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto r = std::make_shared<BenchRequest>();
  auto* sub = app.add_subcommand(
      "bench",
      "run the benchmark binaries (bench/bench_*) into a result directory (Google Benchmark "
      "JSON per binary, env.json, results.md); --compare A B sets two results side by side");
  sub->add_option("--out", r->out, "result directory (replaced whole)")->capture_default_str();
  sub->add_option("--filter", r->filter, "a regular expression of case names (all by default)");
  sub->add_option("--binaries", r->binaries, "benchmark binaries to run (default: all)")
      ->delimiter(',');
  sub->add_option("--bench-dir", r->bench_dir,
                  "where the binaries are (default: build/bench beside caig)");
  sub->add_option("--min-time", r->min_time, "seconds per case (Google Benchmark's min_time)");
  sub->add_option("--repetitions", r->repetitions, "repetitions per case; the median is kept");
  sub->add_option("--compare", r->compare, "two result directories: A (before) and B (after)")
      ->expected(2)
      ->check(CLI::ExistingDirectory);
  sub->callback([r] { run_bench(*r); });
}

}  // namespace caig::cli
