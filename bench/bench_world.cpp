// ShopWorld throughput: description parsing and generating the cpu-preset world (images included).
#include <unistd.h>
#include <filesystem>

#include <benchmark/benchmark.h>

#include "bench/bench_main.h"
#include "datasets/io/shopworld_dir.h"
#include "datasets/shopworld/grammar.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/progress.h"

using namespace caig::world;

static void BM_ParseDescription(benchmark::State& state) {
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i)
    texts.push_back(describe(Background{i % kNumScenes, i % kNumLightings, i % kNumStyles,
                                        i % kNumPalettes, i % kNumProps}));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parse_description(texts[i++ % texts.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseDescription);

// The cpu preset's world, written to disk as `caig world` does. Target: under 30 s on 2 cores.
static void BM_GenerateCpuWorld(benchmark::State& state) {
  caig::set_default_progress_mode(caig::ProgressMode::Quiet);
  WorldConfig cfg;  // defaults are the cpu preset's (2,000 products, 64 px)
  const int threads = static_cast<int>(state.range(0));
  const auto dir =
      std::filesystem::temp_directory_path() / ("caig_bench_world_" + std::to_string(::getpid()));
  int64_t creatives = 0;
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    caig::data::DatasetDirWriter writer(dir);
    const ShopWorld world(cfg, 7);
    const auto d = world.generate_history({writer.staging(), threads});
    writer.commit(d);
    creatives += static_cast<int64_t>(d.creatives.size());
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(creatives);
  state.counters["creatives"] =
      static_cast<double>(creatives) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_GenerateCpuWorld)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

CAIG_BENCHMARK_MAIN()
