// The multimodal backbone's throughput at the cpu preset (its [backbone] table: patch 16 with the
// sub-patch stem): training step (tokens/s and achieved
// GFLOP/s as a fraction of the matmul peak measured in the same run), batched sampling with and
// without the KV cache, and log-prob scoring.
//
// BM_TrainStep measures its own matmul peak (2048^3 sgemm) between its timed steps: on a shared
// machine whose speed drifts by a third within minutes, a peak measured once and a mean step
// measured later can disagree by more than the ratio's own size.
#include <algorithm>
#include <chrono>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bench/bench_main.h"
#include "bench/cpu_preset.h"
#include "harness/fused_adamw.h"
#include "harness/sharded_backward.h"
#include "methods/backbone/batched_matmul.h"
#include "methods/backbone/fused_mlp.h"
#include "methods/backbone/multimodal_lm.h"
#include "methods/backbone/options.h"
#include "methods/backbone/runtime.h"
#include "methods/backbone/tokenizer.h"

using namespace caig::backbone;

namespace {

constexpr int64_t kBatch = 32;
constexpr int64_t kTextLen = 24;
constexpr int64_t kPeakN = 2048;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One n^3 sgemm at a time, on matrices made (and multiplied once, to warm up) in advance.
struct SgemmProbe {
  explicit SgemmProbe(int64_t n_)
      : n(n_), a(torch::randn({n, n})), b(torch::randn({n, n})), c(torch::empty({n, n})) {
    torch::mm_out(c, a, b);
  }
  double gflops() {
    const auto t0 = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    return 2.0 * static_cast<double>(n * n * n) / seconds_since(t0) * 1e-9;
  }
  int64_t n;
  torch::Tensor a, b, c;
};

double sgemm_gflops(int64_t n, int repeats) {
  SgemmProbe probe(n);
  double best = 0.0;
  for (int i = 0; i < repeats; ++i) best = std::max(best, probe.gflops());
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.empty() ? 0.0 : v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Matmul FLOPs of one forward pass (a multiply-add is 2 FLOPs; layer norms, softmax, GELU and
// the optimizer are not counted, so the ratio to the peak is a lower bound on GEMM efficiency):
//   patch embedding      2 * Ni * (3 p^2) * d; with a conv stem of c channels instead
//                        2 * (HW/4) * 27c + 2 * (HW/16) * 9c^2 + 2 * Ni * c (p/4)^2 * d,
//                        with a sub-patch stem of c channels 2 * (HW/16) * 48c + 2 * Ni * c (p/4)^2
//                        * d
//   transformer layer    n * (2*3d^2 [qkv] + 2*d^2 [proj] + 2*2*r*d^2 [mlp]) + 2 * 2 * n^2 * d
//                        (q k^T and weights * v, full n x n: both attention paths compute it)
//                        with n = Ni in the vision layers and n = Ni + T in the LM layers
//   projector            2 * Ni * d^2
//   LM head              2 * T * d * V (text positions only)
// per sequence, times the batch. A training step counts 3x forward (backward ~ 2x forward; this
// overcounts the patch convolution, whose input needs no gradient, by well under 1%).
double forward_flops(const BackboneOptions& o, int64_t vocab, int64_t batch, int64_t image_h,
                     int64_t image_w, int64_t text_len) {
  const double d = static_cast<double>(o.d_model), r = static_cast<double>(o.mlp_ratio);
  const double ni = static_cast<double>((image_h / o.patch) * (image_w / o.patch));
  const double t = static_cast<double>(text_len);
  auto layer = [&](double n) { return n * (8.0 + 4.0 * r) * d * d + 4.0 * n * n * d; };
  double f = 2.0 * ni * 3.0 * static_cast<double>(o.patch * o.patch) * d;
  if (o.conv_stem > 0) {  // two 3x3 stride-2 convs, then a (patch/4)^2 patch embedding
    const double c = static_cast<double>(o.conv_stem), hw = static_cast<double>(image_h * image_w);
    const double q = static_cast<double>(o.patch / 4);
    f = 2.0 * (hw / 4.0) * 27.0 * c + 2.0 * (hw / 16.0) * 9.0 * c * c + 2.0 * ni * c * q * q * d;
  }
  if (o.subpatch_stem > 0) {  // a 4x4 stride-4 conv, then a (patch/4)^2 patch embedding
    const double c = static_cast<double>(o.subpatch_stem),
                 hw = static_cast<double>(image_h * image_w);
    const double q = static_cast<double>(o.patch / 4);
    f = 2.0 * (hw / 16.0) * 48.0 * c + 2.0 * ni * c * q * q * d;
  }
  f += static_cast<double>(o.vision_layers) * layer(ni);
  f += 2.0 * ni * d * d;
  f += static_cast<double>(o.lm_layers) * layer(ni + t);
  f += 2.0 * t * d * static_cast<double>(vocab);
  return f * static_cast<double>(batch);
}

struct Inputs {
  torch::Tensor images, tokens, lengths;
};

Inputs make_inputs(const Tokenizer& tok, int64_t batch, int64_t text_len, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Inputs in;
  in.images = torch::rand({batch, 3, 64, 64}, gen, torch::TensorOptions());
  // Real words (ids past the specials), <bos> first, lengths between 3/4 and all of text_len.
  in.tokens = torch::randint(16, tok.size(), {batch, text_len}, gen, torch::kLong);
  in.tokens.select(1, 0).fill_(tok.bos_id());
  in.lengths = torch::randint(text_len * 3 / 4, text_len + 1, {batch}, gen, torch::kLong);
  return in;
}

// As a training program should: LibTorch threads from the argument (OpenBLAS threads GEMMs on
// its own) and freed activations kept in the heap (see runtime.h).
void set_threads(benchmark::State& state, int arg = 0) {
  configure_cpu_runtime(static_cast<int>(state.range(arg)));
}

}  // namespace

static void BM_MatmulPeak(benchmark::State& state) {
  set_threads(state);
  const int64_t n = kPeakN;
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  torch::mm_out(c, a, b);
  for (auto _ : state) {
    torch::mm_out(c, a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  const double gflops = 2.0 * static_cast<double>(n * n * n) * 1e-9;
  state.counters["GFLOP/s"] = benchmark::Counter(gflops * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.counters["best_GFLOP/s"] = sgemm_gflops(n, 3);  // best single multiply
}
BENCHMARK(BM_MatmulPeak)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Forward + backward + AdamW at the cpu preset: batch 32, 64x64 images, 24 text tokens. Args:
// intra-op threads, and shards (harness/sharded_backward.h: the cpu preset's pretraining uses 2,
// each half of the batch on its own core with a single-threaded BLAS; 1 is the whole batch with the
// GEMMs threaded inside OpenBLAS).
static void BM_TrainStep(benchmark::State& state) {
  set_threads(state);
  const int64_t shards = state.range(1);
  const auto tok = Tokenizer::from_world_vocabulary();
  const BackboneOptions o = caig::bench::cpu_preset_backbone();
  torch::manual_seed(0);
  MultimodalLM model(o, tok.vocab_info());
  model->train();
  // The pretrainer's optimizer and gradient handling (harness/fused_adamw.h).
  const auto params = model->parameters();
  caig::FusedAdamW opt(params, torch::optim::AdamWOptions(1e-4).weight_decay(0.01));
  const auto in = make_inputs(tok, kBatch, kTextLen, 1);
  auto step = [&] {
    caig::release_gradients(params);
    caig::sharded_backward(
        shards,
        [&](int64_t i) {
          const auto [lo, hi] = caig::shard_range(kBatch, shards, i);
          const auto lp = model->token_logprobs(
              in.images.slice(0, lo, hi), in.tokens.slice(0, lo, hi), in.lengths.slice(0, lo, hi));
          return -lp.sum() / static_cast<double>(kBatch);
        },
        params);
    opt.step();
  };
  step();  // warm-up: allocations, Adam state
  const double flops = 3.0 * forward_flops(o, tok.size(), kBatch, 64, 64, kTextLen);
  // Each step's rate is set against the better of the two sgemm samples taken just before and
  // just after it (not timed), so that a neighbour's load moves both numbers alike; the ratio
  // reported is the median over the steps.
  SgemmProbe probe(kPeakN);
  double peak_before = probe.gflops();
  std::vector<double> ratios, peaks{peak_before};
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    const double step_s = seconds_since(t0);
    state.PauseTiming();
    const double peak_after = probe.gflops();
    ratios.push_back(flops * 1e-9 / step_s / std::max(peak_before, peak_after));
    peaks.push_back(peak_before = peak_after);
    state.ResumeTiming();
  }
  const double iters = static_cast<double>(state.iterations());
  const int64_t positions = kBatch * ((64 / o.patch) * (64 / o.patch) + kTextLen);
  state.counters["text_tok/s"] = benchmark::Counter(static_cast<double>(kBatch * kTextLen) * iters,
                                                    benchmark::Counter::kIsRate);
  state.counters["all_tok/s"] =
      benchmark::Counter(static_cast<double>(positions) * iters, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9 * iters, benchmark::Counter::kIsRate);
  state.counters["GFLOP/step"] = flops * 1e-9;
  state.counters["peak_GFLOP/s"] = median(peaks);
  state.counters["frac_of_peak"] = median(ratios);
}
BENCHMARK(BM_TrainStep)
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({2, 2})
    ->ArgNames({"threads", "shards"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Batched sampling, 32 prompts of 3-5 tokens with 64x64 images, 24 new tokens each; arg 1 is
// use_cache. Counts the tokens actually generated (an untrained model rarely emits <eos>).
static void BM_Generate(benchmark::State& state) {
  set_threads(state, 1);
  const auto tok = Tokenizer::from_world_vocabulary();
  const BackboneOptions o = caig::bench::cpu_preset_backbone();
  torch::manual_seed(0);
  MultimodalLM model(o, tok.vocab_info());
  model->eval();
  const auto in = make_inputs(tok, kBatch, 5, 2);
  std::vector<std::vector<int64_t>> prompts;
  for (int64_t b = 0; b < kBatch; ++b) {
    auto row = in.tokens[b].slice(0, 0, 3 + b % 3).contiguous();
    prompts.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  GenerateOptions g;
  g.max_new_tokens = kTextLen;
  g.use_cache = state.range(0) != 0;
  int64_t generated = 0;
  uint64_t seed = 0;
  for (auto _ : state) {
    const auto res = model->generate(in.images, prompts, g, seed++);
    for (const auto& r : res.tokens) generated += static_cast<int64_t>(r.size());
  }
  state.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(generated), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Generate)
    ->Args({1, 1})
    ->Args({0, 1})
    ->Args({1, 2})
    ->Args({0, 2})
    ->ArgNames({"cache", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Scoring given continuations, as the preference optimisers do: one batched forward, no grad.
static void BM_TokenLogprobs(benchmark::State& state) {
  set_threads(state);
  const auto tok = Tokenizer::from_world_vocabulary();
  const BackboneOptions o = caig::bench::cpu_preset_backbone();
  torch::manual_seed(0);
  MultimodalLM model(o, tok.vocab_info());
  model->eval();
  const auto in = make_inputs(tok, kBatch, kTextLen, 3);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto lp = model->token_logprobs(in.images, in.tokens, in.lengths);
    benchmark::DoNotOptimize(sequence_logprob(lp, lp.ne(0)).data_ptr());
  }
  state.counters["seq/s"] =
      benchmark::Counter(static_cast<double>(kBatch) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TokenLogprobs)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Attention's batched products at the cpu preset's LM shape (batch 32 x 4 heads, 40 positions,
// head dim 32), forward and backward: batched_matmul (arg 1) against at::bmm (arg 0). Both run in
// one process, so their ratio is what to read.
static void BM_AttentionProducts(benchmark::State& state) {
  set_threads(state, 1);
  const bool ours = state.range(0) != 0;
  torch::manual_seed(0);
  const auto q = torch::randn({128, 40, 32}).requires_grad_();
  const auto k = torch::randn({128, 40, 32}).requires_grad_();
  for (auto _ : state) {
    const auto kt = k.transpose(1, 2);
    auto scores = ours ? batched_matmul(q, kt) : torch::bmm(q, kt);
    auto out = ours ? batched_matmul(scores, k) : torch::bmm(scores, k);
    out.sum().backward();
  }
  state.counters["cblas"] = batched_matmul_uses_cblas() ? 1 : 0;
}
BENCHMARK(BM_AttentionProducts)
    ->Args({0, 1})
    ->Args({1, 1})
    ->ArgNames({"batched_matmul", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The transformer block's MLP at the cpu preset's LM shape (32 x 40 positions, d 128, hidden 512),
// forward and backward into the input and the four parameters: gelu_mlp (arg 1) against the
// ATen operators, fc2(gelu(fc1(x))) (arg 0). Their ratio, in one process, is what to read.
static void BM_GeluMlp(benchmark::State& state) {
  set_threads(state, 1);
  const bool fused = state.range(0) != 0;
  torch::manual_seed(0);
  torch::nn::Linear fc1(128, 512), fc2(512, 128);
  const auto x = torch::randn({32, 40, 128}).requires_grad_();
  const auto g = torch::randn({32, 40, 128});
  std::vector<torch::Tensor> grads_of{x};
  for (const auto& p : fc1->parameters()) grads_of.push_back(p);
  for (const auto& p : fc2->parameters()) grads_of.push_back(p);
  for (auto _ : state) {
    auto out = fused ? gelu_mlp(x, fc1->weight, fc1->bias, fc2->weight, fc2->bias)
                     : fc2(torch::gelu(fc1(x)));
    out.backward(g);
    caig::release_gradients(grads_of);
  }
  const double flops = 3.0 * 2.0 * 2.0 * 1280.0 * 128.0 * 512.0;  // two GEMMs, forward + backward
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GeluMlp)
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->ArgNames({"fused", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

CAIG_BENCHMARK_MAIN()
