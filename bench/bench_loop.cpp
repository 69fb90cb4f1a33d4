// The parts of one iteration of the CTR-driven loop at the cpu preset's sizes, so that its
// bottleneck is visible: sampling descriptions with the KV cache, rendering the ads, the
// reference's log-probs, and one DPO / PCPO optimiser step over 16 pairs (forward and backward
// through the prompt model, the loss, AdamW). Judging is BM_RewardScore in bench_rewards. The
// prompt model is the cpu backbone at its initial weights (untrained: its descriptions run to the
// 24-token cap, about twice a trained model's length, so these are upper bounds per description).
#include <unistd.h>

#include <filesystem>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bench/bench_main.h"
#include "bench/cpu_preset.h"
#include "datasets/io/shopworld_dir.h"
#include "datasets/renderer_plugin.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/fused_adamw.h"
#include "harness/plugins.h"
#include "harness/progress.h"
#include "methods/backbone/checkpoint.h"
#include "methods/backbone/multimodal_lm.h"
#include "methods/backbone/runtime.h"
#include "methods/backbone/tokenizer.h"
#include "optimisation/ctr_loop.h"
#include "optimisation/loop_products.h"
#include "optimisers/optimiser.h"
#include "prompts/prompt_model.h"

using namespace caig;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kProducts = 64, kPairs = 16;

struct Fixture {
  data::Dataset dataset;
  std::unique_ptr<world::ShopWorld> world;
  std::vector<optimisation::LoopProduct> products;
  std::unique_ptr<PromptModel> policy;
  std::vector<PromptSample> samples;  // two per product
};

Fixture& fixture() {
  static Fixture f = [] {
    register_builtin_plugins();
    set_default_progress_mode(ProgressMode::Quiet);
    const auto dir = fs::temp_directory_path() / ("caig-bench-loop-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    world::WorldConfig cfg;
    cfg.products = 200;
    cfg.image_size = 64;
    data::DatasetDirWriter writer(dir / "data", true);
    world::ShopWorld w(cfg, 3);
    auto d = w.generate_history({writer.staging(), 1});
    writer.commit(d);
    Fixture out;
    out.dataset = data::load_dataset_dir(dir / "data");
    out.world = optimisation::dataset_world(out.dataset);
    out.products =
        optimisation::loop_products(out.dataset, "train", kProducts, 1, 64, out.world.get());
    auto tok = backbone::Tokenizer::from_world_vocabulary();
    torch::manual_seed(1);
    backbone::MultimodalLM lm(bench::cpu_preset_backbone(), tok.vocab_info());
    backbone::save_checkpoint(dir / "backbone", lm, tok);
    out.policy = plugins().prompt_models.create(
        "caig", nlohmann::json{{"checkpoint", (dir / "backbone").string()}},
        PluginContext{nullptr, 0});
    PromptModelContext ctx;
    out.policy->setup(ctx);
    std::vector<PromptProduct> in;
    for (const auto& p : out.products) in.push_back(p.prompt);
    out.samples = out.policy->sample(in, 2, {}, 5);
    return out;
  }();
  return f;
}

void BM_LoopSample(benchmark::State& state) {
  auto& f = fixture();
  std::vector<PromptProduct> in;
  for (const auto& p : f.products) in.push_back(p.prompt);
  int64_t tokens = 0, rows = 0;
  uint64_t seed = 0;
  for (auto _ : state) {
    const auto s = f.policy->sample(in, 2, {}, ++seed);
    for (const auto& x : s) tokens += static_cast<int64_t>(x.tokens.size()) + x.finished;
    rows += static_cast<int64_t>(s.size());
  }
  state.counters["descriptions/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

void BM_LoopRender(benchmark::State& state) {
  auto& f = fixture();
  auto r = plugins().renderers.create("procedural", {{"image_size", 64}}, {nullptr, 0});
  std::vector<RenderJob> jobs;
  for (size_t i = 0; i < f.products.size(); ++i)
    for (int k = 0; k < 2; ++k)
      jobs.push_back({&f.products[i].rgba, "bright dynamic gym scene, orange tones, confetti", i});
  for (auto _ : state) benchmark::DoNotOptimize(r->render_all(jobs));
  state.counters["ads/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * jobs.size()), benchmark::Counter::kIsRate);
}

void BM_LoopReference(benchmark::State& state) {
  auto& f = fixture();
  std::vector<const PromptProduct*> prods;
  std::vector<const PromptSample*> rows;
  for (size_t i = 0; i < f.samples.size(); ++i)
    prods.push_back(&f.products[i / 2].prompt), rows.push_back(&f.samples[i]);
  for (auto _ : state) {
    torch::NoGradGuard no_grad;
    benchmark::DoNotOptimize(f.policy->sequence_logprobs(prods, rows));
  }
  state.counters["sequences/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * rows.size()), benchmark::Counter::kIsRate);
}

// One optimiser step over kPairs pairs: the loss's sequences through the policy with gradients.
void BM_PreferenceStep(benchmark::State& state, const std::string& name) {
  auto& f = fixture();
  auto opt = plugins().optimisers.create(name, nlohmann::json::object(), {nullptr, 0});
  const bool perturbed = opt->needs().perturbation != "none";
  std::vector<const PromptProduct*> prods;
  std::vector<const PromptSample*> rows;
  std::vector<PromptProduct> masked;
  for (int64_t k = 0; k < kPairs; ++k) {
    masked.push_back(f.products[static_cast<size_t>(k)].prompt);
    masked.back().image = optimisation::mask_patches(masked.back().image, 16, 0.75, k);
  }
  for (int64_t k = 0; k < kPairs; ++k)
    prods.push_back(&f.products[static_cast<size_t>(k)].prompt), rows.push_back(&f.samples[2 * k]);
  for (int64_t k = 0; k < kPairs; ++k)
    prods.push_back(&f.products[static_cast<size_t>(k)].prompt),
        rows.push_back(&f.samples[2 * k + 1]);
  if (perturbed)
    for (int64_t k = 0; k < kPairs; ++k)
      prods.push_back(&masked[static_cast<size_t>(k)]), rows.push_back(&f.samples[2 * k]);
  auto params = f.policy->parameters();
  FusedAdamW adam(params, torch::optim::AdamWOptions(1e-6));
  const auto ref = torch::zeros({kPairs});
  for (auto _ : state) {
    at::Tensor counts;
    const auto lp = f.policy->sequence_logprobs(prods, rows, &counts);
    PreferenceLogps l;
    l.chosen = lp.slice(0, 0, kPairs);
    l.rejected = lp.slice(0, kPairs, 2 * kPairs);
    l.chosen_tokens = counts.slice(0, 0, kPairs);
    l.rejected_tokens = counts.slice(0, kPairs, 2 * kPairs);
    l.ref_chosen = l.ref_rejected = l.ref_perturbed = ref;
    if (perturbed) l.perturbed = lp.slice(0, 2 * kPairs, 3 * kPairs);
    adam.zero_grad();
    opt->loss(l).mean().backward();
    adam.step();
  }
  state.counters["pairs/s"] = benchmark::Counter(static_cast<double>(state.iterations() * kPairs),
                                                 benchmark::Counter::kIsRate);
  state.counters["sequences/step"] = static_cast<double>(rows.size());
}

int register_all() {
  backbone::configure_cpu_runtime(1);
  benchmark::RegisterBenchmark("BM_LoopSample", BM_LoopSample)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_LoopRender", BM_LoopRender)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_LoopReference", BM_LoopReference)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (const std::string name : {"dpo", "pcpo"})
    benchmark::RegisterBenchmark(("BM_PreferenceStep/" + name).c_str(), BM_PreferenceStep, name)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  return 0;
}

const int registered = register_all();

}  // namespace

CAIG_BENCHMARK_MAIN()
