// Reward-model throughput at the cpu preset sizes: a training step (pairs/s, counting each list or
// pair as its ads / 2) and scoring (pairs/s) for every trainable model (`caig`, `vam`, `cg4ctr`,
// `lr`, `fm`, `deepfm`), on the CPU and, where LibTorch sees a GPU, on CUDA, with the training's
// peak memory (resident set on CPU, the caching allocator's peak on CUDA). Synthetic 64 px ads: throughput does not depend on the pixels.
//
// BM_RewardTrain runs the model's own budgeted training loop for kSteps steps per iteration
// (building the model once per iteration is included; it is small next to the steps).
#include <algorithm>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "baselines/register.h"
#include "bench/bench_main.h"
#include "bench/cpu_preset.h"
#include "harness/budget.h"
#include "harness/plugins.h"
#include "harness/progress.h"
#include "methods/backbone/options.h"
#include "methods/backbone/runtime.h"
#include "methods/register.h"
#include "rewards/reward_model.h"

using namespace caig;

namespace {

constexpr int64_t kAds = 512, kPerProduct = 4, kSize = 64, kSteps = 10, kScorePairs = 256;

Plugins& registry() {
  static Plugins p = [] {
    Plugins q;
    baselines::register_plugins(q);
    methods::register_plugins(q);
    return q;
  }();
  return p;
}

const nlohmann::json& experiment() {
  static const nlohmann::json e = [] {
    return nlohmann::json{{"backbone", bench::cpu_preset_backbone().to_json()}};
  }();
  return e;
}

const TrainingSet& training_set() {
  static TrainingSet t = [] {
    TrainingSet s;
    torch::manual_seed(1);
    s.ads.images = torch::randint(0, 256, {kAds, 3, kSize, kSize}, torch::kUInt8);
    const char* colours[] = {"red", "blue", "green", "black"};
    for (int64_t i = 0; i < kAds; ++i) {
      AdInfo a;
      a.product_id = "p" + std::to_string(i / kPerProduct);
      a.category = i % 3 ? "running shoe" : "smartphone";
      a.title = std::string(colours[i % 4]) + " leather running shoe for women";
      a.attributes = {{"colour", colours[i % 4]}, {"material", "leather"}, {"rating", 4.5}};
      s.ads.ads.push_back(a);
      s.impressions.push_back(3000 + 17 * i);
      s.clicks.push_back(60 + i % 50);
      if (i % kPerProduct == 0) s.products.emplace_back();
      s.products.back().push_back(i);
    }
    for (int64_t p = 0; p < kAds / kPerProduct; ++p)
      for (int64_t k = 1; k < kPerProduct; ++k) {
        s.pairs.push_back({p * kPerProduct, p * kPerProduct + k});
        s.labels.push_back(static_cast<int>(k % 2));
      }
    return s;
  }();
  return t;
}

std::unique_ptr<RewardModel> make(const std::string& name) {
  nlohmann::json overrides = nlohmann::json::object();
  if (name == "caig") overrides["pretrained"] = false;  // same architecture, no checkpoint needed
  PluginContext ctx{&experiment(), 3};
  return registry().reward_models.create(name, overrides, ctx, "bench");
}

void BM_RewardTrain(benchmark::State& state, const std::string& name, const std::string& device) {
  int64_t samples = 0, peak = 0;
  for (auto _ : state) {
    auto m = make(name);
    BudgetMeter meter(BudgetLimits{0, kSteps, 0.0}, device);
    TrainContext ctx{training_set(), meter, device, 5, {}};
    meter.start();
    m->train(ctx);
    meter.stop();
    samples += meter.samples();
    peak = std::max(peak, meter.peak_memory_bytes());
  }
  state.counters["peak_MiB"] = static_cast<double>(peak) / (1 << 20);
  // A pair is two ads: pairs/s = ads/s / 2, comparable across pair- and list-trained models.
  state.counters["pairs/s"] =
      benchmark::Counter(static_cast<double>(samples) / 2.0, benchmark::Counter::kIsRate);
  state.counters["steps/s"] = benchmark::Counter(static_cast<double>(state.iterations() * kSteps),
                                                 benchmark::Counter::kIsRate);
}

void BM_RewardScore(benchmark::State& state, const std::string& name, const std::string& device) {
  auto m = make(name);
  BudgetMeter meter(BudgetLimits{0, 1, 0.0}, device);
  TrainContext ctx{training_set(), meter, device, 5, {}};
  m->train(ctx);
  std::vector<PairIndex> pairs;
  for (int64_t i = 0; i < kScorePairs; ++i) pairs.push_back({i % kAds, (i * 7 + 1) % kAds});
  for (auto _ : state) benchmark::DoNotOptimize(m->prob_left(training_set().ads, pairs));
  state.counters["pairs/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kScorePairs), benchmark::Counter::kIsRate);
}

int register_all() {
  set_default_progress_mode(ProgressMode::Quiet);
  backbone::configure_cpu_runtime(1);
  std::vector<std::string> devices = {"cpu"};
  if (torch::cuda::is_available()) devices.push_back("cuda");
  for (const auto& device : devices)
    for (const std::string name : {"caig", "vam", "cg4ctr", "lr", "fm", "deepfm"}) {
      benchmark::RegisterBenchmark(("BM_RewardTrain/" + name + "/" + device).c_str(),
                                   BM_RewardTrain, name, device)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("BM_RewardScore/" + name + "/" + device).c_str(),
                                   BM_RewardScore, name, device)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  return 0;
}

const int registered = register_all();

}  // namespace

CAIG_BENCHMARK_MAIN()
