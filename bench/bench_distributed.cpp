// The data-parallel gradient exchange (harness/data_parallel.h) on loopback with Gloo: two ranks
// as two threads of this process, each summing the gradients of the `cpu` preset's backbone
// (every parameter, as the pretrainer's step does). The rate is the gradients' bytes per second
// of one rank's view; set it against BM_TrainStep's step time to see what a data-parallel step
// adds.
#include <thread>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bench/bench_main.h"
#include "bench/cpu_preset.h"
#include "harness/data_parallel.h"
#include "harness/distributed.h"
#include "methods/backbone/multimodal_lm.h"
#include "methods/backbone/tokenizer.h"

namespace {

std::vector<torch::Tensor> backbone_gradients() {
  const auto tok = caig::backbone::Tokenizer::from_world_vocabulary();
  torch::manual_seed(0);
  caig::backbone::MultimodalLM model(caig::bench::cpu_preset_backbone(), tok.vocab_info());
  std::vector<torch::Tensor> params;
  for (const auto& p : model->parameters()) {
    auto q = p.detach().clone();
    q.mutable_grad() = torch::randn_like(q);
    params.push_back(q);
  }
  return params;
}

// range(0): bucket size in KiB.
void BM_AllReduceGradients(benchmark::State& state) {
  const int64_t bucket = state.range(0) << 10;
  const int64_t iterations = state.max_iterations;
  const int port = caig::dist::free_local_port();
  auto env_of = [&](int rank) {
    caig::dist::Env e;
    e.rank = rank;
    e.world_size = 2;
    e.master_port = port;
    e.timeout_seconds = 60;
    return e;
  };
  // Rank 1 runs the same number of exchanges (a fixed iteration count, below) on its own thread.
  std::thread peer([&] {
    auto g = caig::dist::make_group(env_of(1), "cpu");
    auto params = backbone_gradients();
    for (int64_t i = 0; i < iterations + 1; ++i)
      caig::dist::all_reduce_gradients(*g, params, 1.0, "bench", bucket);
  });
  auto g = caig::dist::make_group(env_of(0), "cpu");
  auto params = backbone_gradients();
  int64_t bytes = 0;
  for (const auto& p : params) bytes += p.numel() * static_cast<int64_t>(p.element_size());
  caig::dist::all_reduce_gradients(*g, params, 1.0, "bench", bucket);  // warm-up: connections
  for (auto _ : state) caig::dist::all_reduce_gradients(*g, params, 1.0, "bench", bucket);
  peer.join();
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["gradient_MiB"] = static_cast<double>(bytes) / (1 << 20);
  state.counters["buckets"] = static_cast<double>((bytes + bucket - 1) / bucket);
}
BENCHMARK(BM_AllReduceGradients)
    ->Arg(1 << 10)
    ->Arg(25 << 10)
    ->Iterations(30)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

CAIG_BENCHMARK_MAIN();
