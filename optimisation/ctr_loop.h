// The CTR-driven optimisation loop of CAIG (paper section 5; DESIGN.md, "Preference optimisers"),
// owned by the harness and the same for every arm: per iteration, a slice of training products;
// `samples_per_product` descriptions each from the current prompt model; every description
// rendered with the product's seed of that iteration; the judge compares them (both orders
// averaged, by default); ties are dropped and counted; the optimiser trains one pass over the new
// (chosen, rejected) pairs through the shared trainer, against the frozen reference (the prompt
// model as it started, its log-probs computed once per pair).
//
// Before the first iteration and after each, the arm is measured on held-out products with
// common random numbers across iterations and arms (the same products, sampling seed and render
// seeds): match and well-formed rate (metrics/match_rate.h, as pretraining reports them), the
// judge's reward of the arm's ads against the reference's ads of the same product and seed
// (proxy), the world's true CTR of those ads and how often it beats the reference's (gold; only
// a simulator has it), the KL to the reference, and the share of distinct descriptions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "optimisation/loop_products.h"

namespace caig {
class Optimiser;
class PromptModel;
class Renderer;
class RewardModel;
}  // namespace caig

namespace caig::optimisation {

struct LoopOptions {
  int64_t iterations = 5;  // the paper's "epochs"
  int64_t products_per_iteration = 256;
  int64_t samples_per_product = 2;  // pairwise optimisers need 2; best_of_n takes any n >= 2
  double temperature = 1.0;         // of the training samples
  int64_t max_new_tokens = 24;
  int64_t sample_batch_size = 32;  // rows per generation call (seeds are per call)
  int64_t batch_size = 16;         // pairs per optimiser step
  int64_t passes = 1;              // over each iteration's pairs (the paper: one)
  double lr = 1e-4;
  double weight_decay = 0.0;
  int64_t warmup_steps = 0;
  double grad_clip = 1.0;
  int64_t shards = 1;             // harness/sharded_backward.h
  double tie_threshold = 0.0;     // |P - 0.5| <= this: a tie, dropped (0: exact ties only)
  bool judge_both_orders = true;  // average P(a, b) and 1 - P(b, a): no position bias
  double max_device_seconds = 0;  // the arm's cap over all iterations; 0: none
  std::string eval_split = "test";
  int64_t eval_products = 192;
  int64_t eval_samples_per_product = 2;
  int64_t bootstrap = 1000;

  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("iterations", o.iterations);
    f("products_per_iteration", o.products_per_iteration);
    f("samples_per_product", o.samples_per_product);
    f("temperature", o.temperature);
    f("max_new_tokens", o.max_new_tokens);
    f("sample_batch_size", o.sample_batch_size);
    f("batch_size", o.batch_size);
    f("passes", o.passes);
    f("lr", o.lr);
    f("weight_decay", o.weight_decay);
    f("warmup_steps", o.warmup_steps);
    f("grad_clip", o.grad_clip);
    f("shards", o.shards);
    f("tie_threshold", o.tie_threshold);
    f("judge_both_orders", o.judge_both_orders);
    f("max_device_seconds", o.max_device_seconds);
    f("eval_split", o.eval_split);
    f("eval_products", o.eval_products);
    f("eval_samples_per_product", o.eval_samples_per_product);
    f("bootstrap", o.bootstrap);
  }
  void check() const;  // Error naming the bad value
};

// What one arm is made of. The policy is set up (PromptModel::setup) and, for an arm that trains,
// trainable; the loop trains it in place.
struct LoopParts {
  PromptModel& policy;
  Optimiser& optimiser;
  RewardModel& judge;
  Renderer& renderer;
  const world::ShopWorld* world = nullptr;  // the gold reward; null for real data
  double match_threshold = 0.5;
  bool has_text = true;  // what the judge's AdSet says
  std::string device = "cpu";
  std::filesystem::path ad_files;  // non-empty: rendered ads are written here for the judge
};

struct LoopResult {
  nlohmann::json iterations = nlohmann::json::array();  // rows 0..K (see the file comment)
  nlohmann::json spent;                 // BudgetMeter::spent() of the arm, with a per-part split
  std::string stopped_by;               // "" (all iterations) or "device_seconds"
  std::vector<nlohmann::json> records;  // one per judged training pair
};

// Runs the loop. `seed` derives the slices, the training samples and render seeds, the
// perturbations and the epoch orders; `eval_seed` the held-out measurement (the same for every
// iteration and arm: common random numbers).
LoopResult run_loop(LoopParts& parts, const std::vector<LoopProduct>& train,
                    const std::vector<LoopProduct>& eval, const LoopOptions& options, uint64_t seed,
                    uint64_t eval_seed, const std::string& label);

// The image with round(ratio * patches) of its patch x patch squares set to 0 (black), chosen
// by a seeded permutation: PCPO's and mDPO's corrupted product view. image [3, H, W].
at::Tensor mask_patches(const at::Tensor& image, int64_t patch, double ratio, uint64_t seed);

}  // namespace caig::optimisation
