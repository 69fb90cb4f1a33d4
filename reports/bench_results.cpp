#include "reports/bench_results.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig::reports {

namespace {

double to_ns(double t, const std::string& unit) {
  if (unit == "ns") return t;
  if (unit == "us") return t * 1e3;
  if (unit == "ms") return t * 1e6;
  if (unit == "s") return t * 1e9;
  fail("benchmark time unit '{}' is none of ns, us, ms, s", unit);
}

// Keys of a case that Google Benchmark writes itself; the rest are counters.
const std::set<std::string>& own_keys() {
  static const std::set<std::string> keys = {"name",
                                             "family_index",
                                             "per_family_instance_index",
                                             "run_name",
                                             "run_type",
                                             "repetitions",
                                             "repetition_index",
                                             "threads",
                                             "iterations",
                                             "real_time",
                                             "cpu_time",
                                             "time_unit",
                                             "aggregate_name",
                                             "aggregate_unit",
                                             "label",
                                             "error_occurred",
                                             "error_message",
                                             "bytes_per_second"};
  return keys;
}

std::string time_text(double ns) {
  if (ns >= 1e9) return fmt::format("{:.3g} s", ns / 1e9);
  if (ns >= 1e6) return fmt::format("{:.3g} ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:.3g} us", ns / 1e3);
  return fmt::format("{:.3g} ns", ns);
}

std::string value_text(double v) {
  if (v != 0 && (std::abs(v) >= 1e6 || std::abs(v) < 1e-2)) return fmt::format("{:.3e}", v);
  return fmt::format("{:.4g}", v);
}

std::string key_of(const BenchCase& c) { return c.binary + " " + c.name; }

}  // namespace

std::vector<BenchCase> bench_cases(const nlohmann::json& gbench, const std::string& binary,
                                   const std::string& where) {
  if (!gbench.is_object() || !gbench.contains("benchmarks") || !gbench["benchmarks"].is_array())
    fail("{}: not Google Benchmark JSON (no 'benchmarks' array)", where);
  // With repetitions, the median aggregate stands for the case.
  std::set<std::string> has_median;
  for (const auto& b : gbench["benchmarks"])
    if (b.value("run_type", "") == "aggregate" && b.value("aggregate_name", "") == "median")
      has_median.insert(b.value("run_name", ""));
  std::vector<BenchCase> out;
  for (size_t i = 0; i < gbench["benchmarks"].size(); ++i) {
    const auto& b = gbench["benchmarks"][i];
    if (!b.contains("name") || !b.contains("real_time") || !b.contains("time_unit"))
      fail("{}: benchmark {} has no name, real_time or time_unit", where, i);
    if (b.value("error_occurred", false))
      fail("{}: benchmark '{}' failed: {}", where, b["name"].get<std::string>(),
           b.value("error_message", std::string("(no message)")));
    const bool aggregate = b.value("run_type", "") == "aggregate";
    if (aggregate ? b.value("aggregate_name", "") != "median"
                  : has_median.count(b.value("run_name", b["name"].get<std::string>())) > 0)
      continue;
    BenchCase c;
    c.binary = binary;
    c.name = aggregate ? b.value("run_name", b["name"].get<std::string>())
                       : b["name"].get<std::string>();
    c.time_ns = to_ns(b["real_time"].get<double>(), b["time_unit"].get<std::string>());
    for (const auto& [k, v] : b.items())
      if (!own_keys().count(k) && v.is_number()) c.counters.emplace_back(k, v.get<double>());
    out.push_back(std::move(c));
  }
  return out;
}

std::string bench_markdown(const std::vector<BenchCase>& cases) {
  std::string md = "| binary | case | time / iteration | counters |\n| --- | --- | ---: | --- |\n";
  for (const auto& c : cases) {
    std::string counters;
    for (const auto& [k, v] : c.counters)
      counters += fmt::format("{}{} {}", counters.empty() ? "" : ", ", k, value_text(v));
    md +=
        fmt::format("| {} | `{}` | {} | {} |\n", c.binary, c.name, time_text(c.time_ns), counters);
  }
  return md;
}

std::vector<BenchCase> read_bench_dir(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail("{} is not a directory of benchmark results", dir.string());
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json" && e.path().filename() != "env.json")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) fail("{} has no benchmark JSON (<binary>.json)", dir.string());
  std::vector<BenchCase> out;
  for (const auto& f : files) {
    auto cases = bench_cases(read_json(f), f.stem().string(), f.string());
    out.insert(out.end(), cases.begin(), cases.end());
  }
  return out;
}

std::string bench_compare_markdown(const std::vector<BenchCase>& a,
                                   const std::vector<BenchCase>& b) {
  std::map<std::string, const BenchCase*> in_b;
  for (const auto& c : b) in_b[key_of(c)] = &c;
  std::set<std::string> in_a;
  std::string md =
      "| binary | case | time A | time B | B / A | counters (A → B, B / A) |\n"
      "| --- | --- | ---: | ---: | ---: | --- |\n";
  for (const auto& x : a) {
    in_a.insert(key_of(x));
    const auto it = in_b.find(key_of(x));
    if (it == in_b.end()) {
      md += fmt::format("| {} | `{}` | {} | | | only in A |\n", x.binary, x.name,
                        time_text(x.time_ns));
      continue;
    }
    const BenchCase& y = *it->second;
    std::string counters;
    for (const auto& [k, v] : x.counters)
      for (const auto& [k2, w] : y.counters)
        if (k == k2)
          counters +=
              fmt::format("{}{} {} → {} ({})", counters.empty() ? "" : "; ", k, value_text(v),
                          value_text(w), v != 0 ? fmt::format("{:.2f}", w / v) : "-");
    md += fmt::format("| {} | `{}` | {} | {} | {:.2f} | {} |\n", x.binary, x.name,
                      time_text(x.time_ns), time_text(y.time_ns),
                      x.time_ns > 0 ? y.time_ns / x.time_ns : 0.0, counters);
  }
  for (const auto& y : b)
    if (!in_a.count(key_of(y)))
      md += fmt::format("| {} | `{}` | | {} | | only in B |\n", y.binary, y.name,
                        time_text(y.time_ns));
  return md;
}

}  // namespace caig::reports
