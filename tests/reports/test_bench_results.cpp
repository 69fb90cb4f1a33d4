#include <gtest/gtest.h>

#include "harness/error.h"
#include "reports/bench_results.h"

using caig::reports::bench_cases;

namespace {

const nlohmann::json kRun = nlohmann::json::parse(R"({
  "context": {"num_cpus": 2},
  "benchmarks": [
    {"name": "BM_TrainStep/threads:2", "run_name": "BM_TrainStep/threads:2", "run_type": "iteration",
     "iterations": 10, "real_time": 85.0, "cpu_time": 160.0, "time_unit": "ms",
     "items_per_second": 376.5, "peak_fraction": 0.5, "GFLOP/s": 180.0},
    {"name": "BM_Sample", "run_name": "BM_Sample", "run_type": "iteration", "repetitions": 3,
     "iterations": 5, "real_time": 2.0, "cpu_time": 2.0, "time_unit": "us", "tokens/s": 9000},
    {"name": "BM_Sample_mean", "run_name": "BM_Sample", "run_type": "aggregate",
     "aggregate_name": "mean", "real_time": 2.5, "cpu_time": 2.5, "time_unit": "us"},
    {"name": "BM_Sample_median", "run_name": "BM_Sample", "run_type": "aggregate",
     "aggregate_name": "median", "real_time": 2.2, "cpu_time": 2.2, "time_unit": "us",
     "tokens/s": 9100}
  ]})");

TEST(BenchResults, CasesInNanosecondsWithCountersAndTheMedianOfRepetitions) {
  const auto cases = bench_cases(kRun, "bench_backbone", "x.json");
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].name, "BM_TrainStep/threads:2");
  EXPECT_DOUBLE_EQ(cases[0].time_ns, 85e6);
  ASSERT_EQ(cases[0].counters.size(), 3u);  // items_per_second, peak_fraction, GFLOP/s
  EXPECT_EQ(cases[1].name, "BM_Sample");    // the median stands for the repetitions
  EXPECT_DOUBLE_EQ(cases[1].time_ns, 2200.0);
  const auto md = caig::reports::bench_markdown(cases);
  EXPECT_NE(md.find("| bench_backbone | `BM_TrainStep/threads:2` | 85 ms |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("peak_fraction 0.5"), std::string::npos) << md;
}

TEST(BenchResults, CompareGivesRatiosAndCasesOfOneSide) {
  auto a = bench_cases(kRun, "bench_backbone", "a.json");
  auto b = a;
  b[0].time_ns = 170e6;
  for (auto& [k, v] : b[0].counters)
    if (k == "items_per_second") v = 188.25;
  b.pop_back();
  const auto md = caig::reports::bench_compare_markdown(a, b);
  EXPECT_NE(md.find("| `BM_TrainStep/threads:2` | 85 ms | 170 ms | 2.00 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("items_per_second 376.5 → 188.2 (0.50)"), std::string::npos) << md;
  EXPECT_NE(md.find("`BM_Sample` | 2.2 us | | | only in A"), std::string::npos) << md;
}

TEST(BenchResults, MalformedJsonAndFailedCasesAreErrors) {
  EXPECT_THROW(bench_cases(nlohmann::json::object(), "b", "x.json"), caig::Error);
  auto failed = kRun;
  failed["benchmarks"][0]["error_occurred"] = true;
  failed["benchmarks"][0]["error_message"] = "out of memory";
  try {
    bench_cases(failed, "b", "x.json");
    FAIL();
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'BM_TrainStep/threads:2' failed: out of memory"),
              std::string::npos);
  }
}

}  // namespace
