// E-commerce pretraining of the multimodal backbone (paper section 3): the task mixture, a budgeted
// training loop with periodic validation, checkpoints that resume exactly, and the evaluation the
// issue asks for (per-task loss and token accuracy, slot accuracy of generated descriptions, and
// the well-formed and match rates of sampled background descriptions).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"
#include "harness/budget.h"
#include "methods/backbone/options.h"
#include "methods/pretraining/tasks.h"

namespace caig {
class Renderer;
}

namespace caig::backbone {
struct MultimodalLMImpl;
class Tokenizer;
}  // namespace caig::backbone

namespace caig::pretraining {

class ImageBank;

struct PretrainOptions {
  int64_t batch_size = 32;
  int64_t max_steps = 1200;
  double max_device_seconds = 420;  // 0: no cap; the cpu preset must finish in 8 minutes
  double lr = 2e-3;
  double weight_decay = 0.01;
  int64_t warmup_steps = 60;
  // The cosine schedule decays lr to lr * final_lr_ratio at its horizon.
  double final_lr_ratio = 0.1;
  // With a device-time cap, the steps in each timing window after warm-up; at the end of each,
  // the cosine's horizon is laid out over what fits the rest of the cap (lr_schedule.h). 0 lays it
  // out over max_steps whatever the cap. The margin is the share of the remaining time each fit
  // leaves unplanned, for a machine that slows down; since every window refits, the run ends
  // within about a window of its horizon either way.
  int64_t schedule_probe_steps = 100;
  double schedule_margin = 0.05;
  double grad_clip = 1.0;
  // Each batch is split into this many contiguous parts whose gradients are added
  // (harness/sharded_backward.h): on CPU each part runs on a thread of its own with a
  // single-threaded BLAS. The split is part of the arithmetic, so results depend on it and not on
  // the machine's core count. 1: the whole batch in one pass, threaded inside its operators (the
  // GPU's way; the cpu preset uses 2).
  int64_t shards = 1;
  int64_t eval_every = 400;         // steps between validations (and checkpoints)
  int64_t eval_examples = 192;      // validation examples per task
  int64_t sample_products = 192;    // validation products whose descriptions are sampled
  int64_t samples_per_product = 1;  // descriptions sampled per product (the match rate's sample)
  // Weight of the auxiliary slot classifier on the vision tokens of ad images (slot_head.h);
  // 0 trains with the LM loss alone.
  double slot_head_weight = 1.0;
  // Extra training ads per step that go through the vision encoder and the slot head only (not the
  // LM): the encoder costs a fraction of the LM per image, so this buys more image signal per
  // second.
  int64_t slot_head_ads = 0;
  // Ads rendered before training from the training products with uniformly drawn backgrounds
  // (synthetic_ads.h), added to the pool the slot head's extra ads are drawn from; they cost
  // rendering time inside the budget, never LM steps. 0: the logged ads only.
  int64_t synthetic_ads = 0;
  std::string synthetic_renderer = "procedural";  // the renderer plugin that draws them
  // The composite task (tasks.h): two ads of one training product side by side per example,
  // this many per step on top of the LM batch, its loss (a mean over its own target tokens) at
  // composite_weight. Needs a backbone with tile_embedding. 0: none.
  int64_t composite_ads = 0;
  double composite_weight = 1.0;
  TaskMixture mixture;

  // The JSON field table (harness/json_fields.h): the [pretrain] keys, each once.
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("batch_size", o.batch_size);
    f("max_steps", o.max_steps);
    f("max_device_seconds", o.max_device_seconds);
    f("lr", o.lr);
    f("weight_decay", o.weight_decay);
    f("warmup_steps", o.warmup_steps);
    f("final_lr_ratio", o.final_lr_ratio);
    f("schedule_probe_steps", o.schedule_probe_steps);
    f("schedule_margin", o.schedule_margin);
    f("grad_clip", o.grad_clip);
    f("shards", o.shards);
    f("eval_every", o.eval_every);
    f("eval_examples", o.eval_examples);
    f("sample_products", o.sample_products);
    f("samples_per_product", o.samples_per_product);
    f("slot_head_weight", o.slot_head_weight);
    f("slot_head_ads", o.slot_head_ads);
    f("synthetic_ads", o.synthetic_ads);
    f("synthetic_renderer", o.synthetic_renderer);
    f("composite_ads", o.composite_ads);
    f("composite_weight", o.composite_weight);
    f("mixture", o.mixture);
  }
  nlohmann::json to_json() const;
  static PretrainOptions from_json(const nlohmann::json& j);  // checks the values too
};

// Evaluation of a backbone on `split`: per task {loss, token_accuracy}, slot accuracy of greedy
// descriptions (describe and background tasks), and sampled prompt-task descriptions'
// well_formed_rate and match_rate (the judge: well formed and match >= threshold).
nlohmann::json evaluate_backbone(backbone::MultimodalLMImpl& model, const backbone::Tokenizer& tok,
                                 const data::Dataset& d, const ImageBank& bank,
                                 const std::string& split, const PretrainOptions& opt,
                                 double match_threshold, uint64_t seed);

// The composite task on n composites of `split`: {examples, loss (per target token), and the
// greedy next-token accuracy of the left ad's background and of the right ad's}: whether the
// backbone reads both sides of a pair, not only the first.
nlohmann::json evaluate_composites(backbone::MultimodalLMImpl& model,
                                   const backbone::Tokenizer& tok, const data::Dataset& d,
                                   const ImageBank& bank, const std::string& split, int64_t n,
                                   uint64_t seed);

struct PretrainResult {
  nlohmann::json metrics;  // final evaluation, history of validations, steps, examples seen
  nlohmann::json spent;    // BudgetMeter::spent()
  bool resumed = false;    // continued from a checkpoint (not a result: the metrics are the same)
  bool simulated = false;  // the dataset came from ShopWorld
};

// Trains from scratch (or resumes from `checkpoint_dir` when it holds a checkpoint with optimizer
// state and `resume`), saving the checkpoint there at every validation and at the end.
// `renderer` draws the synthetic ads; it may be null only when opt.synthetic_ads is 0.
PretrainResult pretrain(const data::Dataset& d, const ImageBank& bank,
                        const backbone::BackboneOptions& backbone_options,
                        const PretrainOptions& opt, const std::string& device, uint64_t seed,
                        const std::filesystem::path& checkpoint_dir, bool resume,
                        Renderer* renderer = nullptr);

}  // namespace caig::pretraining
