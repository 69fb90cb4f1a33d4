#include "methods/pretraining/pretrainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <torch/torch.h>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/click_model.h"
#include "datasets/shopworld/grammar.h"
#include "harness/error.h"
#include "harness/fused_adamw.h"
#include "harness/json_fields.h"
#include "harness/progress.h"
#include "harness/seeds.h"
#include "harness/sharded_backward.h"
#include "harness/trainer.h"
#include "methods/backbone/checkpoint.h"
#include "methods/backbone/multimodal_lm.h"
#include "methods/backbone/tokenizer.h"
#include "methods/pretraining/image_bank.h"
#include "methods/pretraining/lm_batch.h"
#include "methods/pretraining/slot_head.h"
#include "methods/pretraining/synthetic_ads.h"
#include "metrics/designer_count_model.h"
#include "metrics/match_rate.h"
#include "metrics/stats.h"

namespace caig::pretraining {

namespace {

// A seeded subset of at most n examples (evaluation sets stay the same across validations).
std::vector<Example> subset(std::vector<Example> all, int64_t n, uint64_t seed) {
  const auto p = seeded_permutation(all.size(), seed);
  std::vector<Example> out;
  for (size_t i = 0; i < p.size() && static_cast<int64_t>(out.size()) < n; ++i)
    out.push_back(std::move(all[p[i]]));
  return out;
}

// Accuracy per slot of the auxiliary head on up to n ads of `split` (a seeded subset).
nlohmann::json evaluate_slot_head(backbone::MultimodalLMImpl& model, SlotHeadImpl& head,
                                  const data::Dataset& d,
                                  const std::vector<world::Background>& truth,
                                  const ImageBank& bank, const std::string& split, int64_t n,
                                  uint64_t seed) {
  torch::NoGradGuard no_grad;
  const bool model_training = model.is_training(), head_training = head.is_training();
  model.eval();
  head.eval();
  std::vector<int64_t> ads;
  for (size_t i = 0; i < d.creatives.size(); ++i)
    if (d.creatives[i].split == split) ads.push_back(static_cast<int64_t>(i));
  std::vector<int64_t> chosen;
  for (size_t k : seeded_permutation(ads.size(), seed)) {
    if (static_cast<int64_t>(chosen.size()) >= n) break;
    chosen.push_back(ads[k]);
  }
  const auto& slots = world::all_slots();
  std::vector<int64_t> correct(slots.size(), 0), labelled(slots.size(), 0);
  for (size_t at = 0; at < chosen.size(); at += 64) {
    const std::vector<int64_t> chunk(
        chosen.begin() + static_cast<std::ptrdiff_t>(at),
        chosen.begin() + static_cast<std::ptrdiff_t>(std::min(chosen.size(), at + 64)));
    const auto labels = slot_labels(chunk, truth);
    const auto images = bank.ads(chunk).to(model.device());
    const auto hits = slot_head_hits(head.forward(model.vision(images)), labels, head.slot_sizes());
    for (size_t s = 0; s < slots.size(); ++s)
      correct[s] += hits.correct[s], labelled[s] += hits.labelled[s];
  }
  nlohmann::json acc = nlohmann::json::object();
  for (size_t s = 0; s < slots.size(); ++s)
    acc[std::string(world::slot_name(slots[s]))] =
        labelled[s] > 0 ? static_cast<double>(correct[s]) / static_cast<double>(labelled[s]) : 0.0;
  if (model_training) model.train();
  if (head_training) head.train();
  return {{"examples", chosen.size()}, {"accuracy", acc}};
}

}  // namespace

nlohmann::json PretrainOptions::to_json() const { return fields_to_json(*this); }

PretrainOptions PretrainOptions::from_json(const nlohmann::json& j) {
  PretrainOptions o;
  fields_from_json(o, j, "pretrain config");
  if (o.batch_size <= 0 || o.max_steps <= 0 || o.eval_every <= 0 || o.warmup_steps < 0 || o.lr <= 0)
    fail(
        "pretrain config: batch_size, max_steps, eval_every and lr must be > 0, warmup_steps >= 0");
  if (o.shards < 1 || o.shards > o.batch_size)
    fail("pretrain config: shards must be in 1..batch_size ({}), got {}", o.batch_size, o.shards);
  if (!(o.final_lr_ratio >= 0 && o.final_lr_ratio <= 1))
    fail("pretrain config: final_lr_ratio must be in [0, 1], got {}", o.final_lr_ratio);
  if (o.schedule_probe_steps < 0 || !(o.schedule_margin >= 0 && o.schedule_margin < 1))
    fail(
        "pretrain config: schedule_probe_steps must be >= 0 and schedule_margin in [0, 1), got {} "
        "and {}",
        o.schedule_probe_steps, o.schedule_margin);
  if (o.sample_products < 0 || o.samples_per_product < 1)
    fail(
        "pretrain config: sample_products must be >= 0 and samples_per_product >= 1, got {} and {}",
        o.sample_products, o.samples_per_product);
  if (!(o.slot_head_weight >= 0) || o.slot_head_ads < 0 || o.synthetic_ads < 0)
    fail("pretrain config: slot_head_weight, slot_head_ads and synthetic_ads must be >= 0");
  if (o.synthetic_ads > 0 && (o.slot_head_weight == 0 || o.slot_head_ads == 0))
    fail(
        "pretrain config: synthetic_ads = {} feeds the slot head's extra ads, so it needs "
        "slot_head_weight > 0 and slot_head_ads > 0",
        o.synthetic_ads);
  if (o.composite_ads < 0 || !(o.composite_weight >= 0))
    fail("pretrain config: composite_ads and composite_weight must be >= 0, got {} and {}",
         o.composite_ads, o.composite_weight);
  return o;
}

nlohmann::json evaluate_composites(backbone::MultimodalLMImpl& model,
                                   const backbone::Tokenizer& tok, const data::Dataset& d,
                                   const ImageBank& bank, const std::string& split, int64_t n,
                                   uint64_t seed) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto pool = products_with_pairs(d, split);
  const auto examples = composite_examples(tok, d, pool, 0, n, seed);
  const int64_t divider = tok.id(backbone::kTaskTitle);
  double nll = 0;
  int64_t targets = 0, hits[2] = {0, 0}, counts[2] = {0, 0};
  for (size_t start = 0; start < examples.size(); start += 32) {
    std::vector<const Example*> chunk;
    for (size_t i = start; i < std::min(examples.size(), start + 32); ++i)
      chunk.push_back(&examples[i]);
    const auto b = collate_composites(chunk, bank, tok.pad_id(), model.device());
    nll += target_nll_sum(model, b).item<double>();
    targets += target_count(b);
    // Greedy next-token hits split at the divider: the left ad's background, then the right's.
    const auto logits =
        model.forward_from_prefix(model.two_ad_prefix(b.images), b.tokens, b.lengths);
    const auto pred_t = logits.argmax(-1).to(torch::kCPU).contiguous();
    const auto pred = pred_t.accessor<int64_t, 2>();
    for (size_t r = 0; r < chunk.size(); ++r) {
      const auto& e = *chunk[r];
      int side = 0;
      for (size_t t = static_cast<size_t>(e.target_start); t < e.tokens.size(); ++t) {
        const bool hit = pred[static_cast<int64_t>(r)][static_cast<int64_t>(t) - 1] == e.tokens[t];
        hits[side] += hit;
        ++counts[side];
        if (e.tokens[t] == divider) side = 1;
      }
    }
  }
  if (was_training) model.train();
  auto rate = [](int64_t h, int64_t c) { return c > 0 ? static_cast<double>(h) / c : 0.0; };
  return {{"examples", examples.size()},
          {"loss", targets > 0 ? nll / static_cast<double>(targets) : 0.0},
          {"left_token_accuracy", rate(hits[0], counts[0])},
          {"right_token_accuracy", rate(hits[1], counts[1])}};
}

nlohmann::json evaluate_backbone(backbone::MultimodalLMImpl& model, const backbone::Tokenizer& tok,
                                 const data::Dataset& d, const ImageBank& bank,
                                 const std::string& split, const PretrainOptions& opt,
                                 double match_threshold, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const torch::Device device = model.device();
  nlohmann::json out;
  const int64_t divider = tok.id(backbone::kTaskTitle);

  for (Task task : {Task::Describe, Task::Background, Task::Title, Task::Prompt}) {
    const auto examples = subset(build_task_examples(tok, d, split, task), opt.eval_examples,
                                 derive_seed(seed, task_name(task)));
    if (examples.empty()) continue;
    double loss_sum = 0;
    int64_t correct = 0, count = 0;
    std::map<std::string, int64_t> slot_hits;
    int64_t generated = 0, well_formed = 0;
    for (size_t at = 0; at < examples.size(); at += static_cast<size_t>(opt.batch_size)) {
      std::vector<const Example*> chunk;
      for (size_t k = at; k < std::min(examples.size(), at + static_cast<size_t>(opt.batch_size));
           ++k)
        chunk.push_back(&examples[k]);
      const Batch b = collate(chunk, bank, tok.pad_id(), device);
      TokenHits hits;
      loss_sum += target_nll_sum(model, b, nullptr, &hits).item<double>();
      correct += hits.correct;
      count += hits.count;
      if (task != Task::Describe && task != Task::Background) continue;
      // Slot accuracy of greedy descriptions read from the ad.
      std::vector<std::vector<int64_t>> prompts;
      for (const auto* e : chunk) prompts.push_back(e->prompt());
      backbone::GenerateOptions g;
      g.temperature = 0;
      g.max_new_tokens = std::min<int64_t>(
          32, model.options().max_text_len -
                  static_cast<int64_t>(
                      std::max_element(prompts.begin(), prompts.end(), [](auto& x, auto& y) {
                        return x.size() < y.size();
                      })->size()));
      const auto res = model.generate(b.images, prompts, g, derive_seed(seed, at));
      for (size_t k = 0; k < chunk.size(); ++k) {
        const auto& truth = world::parse_description(
            d.creatives[static_cast<size_t>(chunk[k]->creative)].description);
        const auto got =
            world::parse_description(tok.decode(background_part(res.tokens[k], task, divider)));
        ++generated;
        well_formed += got.well_formed();
        for (world::Slot s : world::all_slots())
          slot_hits[std::string(world::slot_name(s))] +=
              got.background.get(s) == truth.background.get(s);
      }
    }
    nlohmann::json t = {
        {"examples", examples.size()},
        {"loss", count > 0 ? loss_sum / static_cast<double>(count) : 0.0},
        {"token_accuracy",
         count > 0 ? static_cast<double>(correct) / static_cast<double>(count) : 0.0}};
    if (generated > 0) {
      nlohmann::json acc;
      for (const auto& [slot, hits] : slot_hits)
        acc[slot] = static_cast<double>(hits) / static_cast<double>(generated);
      t["slot_accuracy"] = acc;
      t["well_formed_rate"] = static_cast<double>(well_formed) / static_cast<double>(generated);
    }
    out["tasks"][task_name(task)] = t;
  }

  // Sampled prompt-task descriptions for distinct products: what the prompt model would write.
  // Each product gets samples_per_product draws; the interval resamples products, as the draws of
  // one product share its prompt.
  std::vector<Example> per_product;
  std::set<std::string> seen;
  if (opt.sample_products > 0)
    for (int64_t c : distinct_product_creatives(d, split, opt.sample_products, seed)) {
      per_product.push_back(make_example(tok, d, c, Task::Prompt));
      seen.insert(d.creatives[static_cast<size_t>(c)].product_id);
    }
  // The designers' own match rate on the same products, over all their creatives in the split.
  int64_t designed = 0, designer_matched = 0;
  for (const auto& c : d.creatives)
    if (c.split == split && seen.count(c.product_id)) {
      ++designed;
      designer_matched += c.match && *c.match >= match_threshold;
    }
  std::vector<size_t> draws;  // the product (index into per_product) of each sample
  for (size_t p = 0; p < per_product.size(); ++p)
    draws.insert(draws.end(), static_cast<size_t>(opt.samples_per_product), p);
  std::vector<metrics::SampledDescription> samples;
  for (size_t at = 0; at < draws.size(); at += static_cast<size_t>(opt.batch_size)) {
    const size_t end = std::min(draws.size(), at + static_cast<size_t>(opt.batch_size));
    std::vector<const Example*> chunk;
    std::vector<std::vector<int64_t>> prompts;
    for (size_t k = at; k < end; ++k) {
      chunk.push_back(&per_product[draws[k]]);
      prompts.push_back(chunk.back()->prompt());
    }
    const Batch b = collate(chunk, bank, tok.pad_id(), device);
    backbone::GenerateOptions g;
    g.temperature = 1.0;
    g.max_new_tokens = 24;
    const auto res =
        model.generate(b.images, prompts, g, derive_seed(seed, "sample" + std::to_string(at)));
    for (size_t k = 0; k < chunk.size(); ++k) {
      const auto& c = d.creatives[static_cast<size_t>(chunk[k]->creative)];
      samples.push_back({c.product_id, c.category, tok.decode(res.tokens[k])});
    }
  }
  // The imitation reference: a likelihood-fitted count model of the training designers' scenes
  // and styles (designer_count_model.h), its exact match probability on the same products. Only
  // for simulated data, where the world's categories define the match.
  nlohmann::json count_json = nullptr;
  if (d.world.is_object()) {
    const auto count_model = metrics::fit_designer_count_model(d, "train");
    double count_model_match = 0;
    for (const auto& e : per_product) {
      const auto& c = d.creatives[static_cast<size_t>(e.creative)];
      const int cat = world::category_index(c.category);
      if (cat < 0) fail("creative {} has unknown category '{}'", c.creative_id, c.category);
      count_model_match += count_model.match_probability(cat, match_threshold);
    }
    count_json = count_model.to_json();
    count_json["match_rate"] =
        per_product.empty() ? 0.0 : count_model_match / static_cast<double>(per_product.size());
  }
  const auto rate = [](int64_t k, int64_t n) {
    return n > 0 ? static_cast<double>(k) / static_cast<double>(n) : 0.0;
  };
  out["sampled_descriptions"] =
      metrics::match_rate(samples, match_threshold, 1000, derive_seed(seed, "match_interval"))
          .to_json();
  out["sampled_descriptions"]["designer_creatives"] = designed;
  out["sampled_descriptions"]["designer_match_rate"] = rate(designer_matched, designed);
  out["sampled_descriptions"]["temperature"] = 1.0;
  if (!count_json.is_null()) out["sampled_descriptions"]["count_model"] = count_json;
  if (was_training) model.train();
  return out;
}

PretrainResult pretrain(const data::Dataset& d, const ImageBank& bank,
                        const backbone::BackboneOptions& backbone_options,
                        const PretrainOptions& opt, const std::string& device_name, uint64_t seed,
                        const std::filesystem::path& checkpoint_dir, bool resume,
                        Renderer* renderer) {
  if (opt.synthetic_ads > 0 && renderer == nullptr)
    fail("pretraining: synthetic_ads = {} but no renderer was given", opt.synthetic_ads);
  if (!d.has_text) fail("pretraining needs a dataset with text (commercial)");
  if (opt.shards > 1 && backbone_options.dropout > 0)
    fail(
        "pretrain.shards = {} needs backbone.dropout = 0 (got {}): the shards would draw their "
        "dropout masks from one generator in an order that depends on thread timing",
        opt.shards, backbone_options.dropout);
  if (opt.composite_ads > 0 && !backbone_options.tile_embedding)
    fail(
        "pretrain.composite_ads = {} reads two ads side by side through the backbone's tile "
        "embedding: set backbone.tile_embedding = true",
        opt.composite_ads);
  if (bank.image_size() != backbone_options.image_size)
    fail("pretraining: images are {} px but backbone.image_size is {}", bank.image_size(),
         backbone_options.image_size);
  const double match_threshold =
      d.world.is_object() ? d.world.at("config").at("match_threshold").get<double>() : 0.5;
  const torch::Device device(device_name);
  torch::manual_seed(derive_seed(seed, "init"));

  backbone::Tokenizer tok = backbone::Tokenizer::from_world_vocabulary();
  backbone::MultimodalLM model(backbone_options, tok.vocab_info());
  nlohmann::json history = nlohmann::json::array();
  const bool resuming = resume && backbone::has_optimizer_state(checkpoint_dir);
  if (resuming) {
    auto ck = backbone::load_checkpoint(checkpoint_dir, device);
    if (ck.options.to_json() != backbone_options.to_json())
      fail("cannot resume from {}: its backbone options differ from this run's",
           checkpoint_dir.string());
    model = ck.model;
    tok = ck.tokenizer;
  }
  model->to(device);
  model->train();
  // The auxiliary slot head trains with the backbone (same optimizer, after its parameters).
  const bool use_slot_head = opt.slot_head_weight > 0;
  SlotHead slot_head(backbone_options.d_model, background_slot_sizes());
  std::vector<torch::Tensor> params = model->parameters();
  if (use_slot_head) {
    if (resuming) backbone::load_training_module(checkpoint_dir, "slot_head", *slot_head);
    slot_head->to(device);
    slot_head->train();
    for (const auto& p : slot_head->parameters()) params.push_back(p);
  }
  std::vector<world::Background> truth;
  for (const auto& c : d.creatives)
    truth.push_back(world::parse_description(c.description).background);
  FusedAdamW optimizer(params, torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
  nlohmann::json resumed_state;  // the trainer's state at the checkpoint (Trainer::state)
  if (resuming) {
    backbone::load_optimizer_state(checkpoint_dir, optimizer);
    const auto state = backbone::load_trainer_state(checkpoint_dir);
    resumed_state = state;
    history = state.at("history");
  }
  // Every epoch draws the creatives' tasks afresh (build_examples), from (seed, epoch) alone.
  const uint64_t mixture_seed = derive_seed(seed, "mixture");
  BudgetMeter meter({0, opt.max_steps, opt.max_device_seconds}, device_name);
  TrainerOptions topt;
  topt.batch_size = opt.batch_size;
  topt.lr = opt.lr;
  topt.warmup_steps = opt.warmup_steps;
  topt.schedule = "cosine";
  topt.final_lr_ratio = opt.final_lr_ratio;
  topt.max_steps = opt.max_steps;
  topt.max_device_seconds = opt.max_device_seconds;
  topt.schedule_probe_steps = opt.schedule_probe_steps;
  topt.schedule_margin = opt.schedule_margin;
  topt.grad_clip = opt.grad_clip;
  topt.shards = opt.shards;
  topt.checkpoint_every = opt.eval_every;
  topt.label = "pretrain";
  topt.progress_total = opt.max_steps;
  // The epochs' orders come from the pretraining seed itself (as before the shared trainer).
  Trainer trainer(topt, meter, seed);
  if (resuming) trainer.restore(resumed_state);
  int64_t unknown = 0;
  for (const auto& c : d.creatives) {
    tok.encode(c.title, &unknown);
    tok.encode(c.description, &unknown);
  }

  // The slot head's extra ads for `step`: like the LM batches, a pure function of (seed, step).
  // They are drawn without replacement from the pool [logged training ads ; synthetic ads].
  std::vector<int64_t> train_ads;
  for (size_t i = 0; i < d.creatives.size(); ++i)
    if (d.creatives[i].split == "train") train_ads.push_back(static_cast<int64_t>(i));
  SyntheticAds synthetic;
  nlohmann::json synthetic_info = nullptr;

  // What the trainer asks of pretraining: the epoch's examples (the task mixture drawn afresh),
  // the batch of the LM and the slot head in opt.shards parts, their losses, and validation with
  // a checkpoint.
  struct PretrainTask : TrainTask {
    const data::Dataset& d;
    const ImageBank& bank;
    const backbone::Tokenizer& tok;
    backbone::MultimodalLM& model;
    SlotHead& slot_head;
    const PretrainOptions& opt;
    const std::vector<world::Background>& truth;
    const std::vector<int64_t>& train_ads;
    const SyntheticAds& synthetic;
    const torch::Device device;
    const uint64_t seed, mixture_seed;
    const bool use_slot_head;
    std::function<void(int64_t, bool)> on_checkpoint;
    // The epoch's examples, and the last epoch's (a batch across the boundary points into both).
    std::vector<Example> train, previous_epoch;
    int64_t train_epoch = -1;
    std::vector<size_t> ads_perm;
    int64_t ads_epoch = -1;
    // The prepared batch.
    std::vector<Batch> parts;
    int64_t batch_targets = 0;
    std::vector<torch::Tensor> part_labels;
    torch::Tensor extra_images, extra_labels;
    std::vector<int64_t> batch_labelled;
    std::vector<double> slot_loss_parts;
    double slot_loss_sum = 0;  // auxiliary loss since the last validation
    int64_t slot_loss_count = 0;
    // The composite task's pool and the step's composites, in opt.shards parts.
    std::vector<std::vector<int64_t>> composite_pool;
    std::vector<Example> composites;
    std::vector<Batch> composite_parts;
    int64_t composite_targets = 0;

    PretrainTask(const data::Dataset& d_, const ImageBank& bank_, const backbone::Tokenizer& tok_,
                 backbone::MultimodalLM& model_, SlotHead& head_, const PretrainOptions& opt_,
                 const std::vector<world::Background>& truth_,
                 const std::vector<int64_t>& train_ads_, const SyntheticAds& synthetic_,
                 torch::Device device_, uint64_t seed_, uint64_t mixture_seed_)
        : d(d_),
          bank(bank_),
          tok(tok_),
          model(model_),
          slot_head(head_),
          opt(opt_),
          truth(truth_),
          train_ads(train_ads_),
          synthetic(synthetic_),
          device(device_),
          seed(seed_),
          mixture_seed(mixture_seed_),
          use_slot_head(opt_.slot_head_weight > 0) {
      train = build_examples(tok, d, "train", opt.mixture, mixture_seed, 0);
      if (opt.composite_ads > 0) composite_pool = products_with_pairs(d, "train");
    }

    int64_t epoch_size() const override { return static_cast<int64_t>(train.size()); }
    void begin_epoch(int64_t epoch) override {
      previous_epoch = std::move(train);
      train = build_examples(tok, d, "train", opt.mixture, mixture_seed, epoch);
      train_epoch = epoch;
    }

    struct ExtraAds {
      std::vector<int64_t> logged, synthetic;  // creatives, rows of `synthetic`
    };
    ExtraAds slot_head_ads_at(int64_t at) {
      ExtraAds out;
      const auto logged = static_cast<int64_t>(train_ads.size());
      const int64_t m = logged + synthetic.size();
      for (int64_t k = at * opt.slot_head_ads; m > 0 && k < (at + 1) * opt.slot_head_ads; ++k) {
        if (k / m != ads_epoch) {
          ads_epoch = k / m;
          ads_perm =
              seeded_permutation(static_cast<size_t>(m),
                                 derive_seed(seed, "slot_head_ads" + std::to_string(ads_epoch)));
        }
        const auto row = static_cast<int64_t>(ads_perm[static_cast<size_t>(k % m)]);
        if (row < logged)
          out.logged.push_back(train_ads[static_cast<size_t>(row)]);
        else
          out.synthetic.push_back(row - logged);
      }
      return out;
    }

    int64_t prepare(int64_t step, const std::vector<Draw>& draws, int64_t shards) override {
      std::vector<const Example*> chunk;
      for (const auto& dr : draws)
        chunk.push_back(
            &(dr.epoch == train_epoch ? train : previous_epoch)[static_cast<size_t>(dr.example)]);
      // The batch in `shards` contiguous parts; their losses are shares of the batch's, divided
      // by the whole batch's counts.
      parts.clear();
      batch_targets = 0;
      for (int64_t i = 0; i < shards; ++i) {
        const auto [lo, hi] = shard_range(static_cast<int64_t>(chunk.size()), shards, i);
        parts.push_back(
            collate({chunk.begin() + lo, chunk.begin() + hi}, bank, tok.pad_id(), device));
        batch_targets += target_count(parts.back());
      }
      // The slot head's labels: each part's LM ads, then the extra ads, split alike.
      part_labels.clear();
      extra_images = extra_labels = torch::Tensor();
      batch_labelled.assign(slot_head->slot_sizes().size(), 0);
      auto count_labelled = [&](const torch::Tensor& labels) {
        const auto counts = labelled_per_slot(labels);
        for (size_t s = 0; s < counts.size(); ++s) batch_labelled[s] += counts[s];
      };
      if (use_slot_head) {
        for (const auto& part : parts) {
          part_labels.push_back(slot_labels(part.creatives, truth, part.product));
          count_labelled(part_labels.back());
        }
        if (opt.slot_head_ads > 0) {
          auto extra = slot_head_ads_at(step);
          // Data parallelism: this rank's contiguous part of the step's extra ads.
          const auto part = rank_part();
          if (part.ranks > 1) {
            auto slice = [](std::vector<int64_t>& all, int64_t begin, int64_t end) {
              all = std::vector<int64_t>(all.begin() + begin, all.begin() + end);
            };
            // The extras in order are [logged ; synthetic]: split that sequence.
            const auto nl = static_cast<int64_t>(extra.logged.size());
            const auto [lo, hi] = shard_range(nl + static_cast<int64_t>(extra.synthetic.size()),
                                              part.ranks, part.rank);
            slice(extra.logged, std::min(lo, nl), std::min(hi, nl));
            slice(extra.synthetic, std::max<int64_t>(lo - nl, 0), std::max<int64_t>(hi - nl, 0));
          }
          std::vector<torch::Tensor> images, labels;
          if (!extra.logged.empty()) {
            images.push_back(bank.ads(extra.logged));
            labels.push_back(slot_labels(extra.logged, truth));
          }
          if (!extra.synthetic.empty()) {
            images.push_back(synthetic.batch(extra.synthetic));
            labels.push_back(slot_labels(extra.synthetic, synthetic.backgrounds));
          }
          if (!images.empty()) {
            extra_images = torch::cat(images).to(device);
            extra_labels = torch::cat(labels);
            count_labelled(extra_labels);
          }
        }
      }
      slot_loss_parts.assign(static_cast<size_t>(shards), 0.0);
      // The composites of this step: like the LM batches, a pure function of (seed, step).
      composite_parts.clear();
      composite_targets = 0;
      if (opt.composite_ads > 0) {
        composites = composite_examples(tok, d, composite_pool, step * opt.composite_ads,
                                        opt.composite_ads, derive_seed(seed, "composites"));
        const auto part = rank_part();  // data parallelism: this rank's part of them
        const auto [first, last] = shard_range(opt.composite_ads, part.ranks, part.rank);
        composites = std::vector<Example>(composites.begin() + first, composites.begin() + last);
        const auto n_composites = static_cast<int64_t>(composites.size());
        for (int64_t i = 0; i < shards; ++i) {
          const auto [lo, hi] = shard_range(n_composites, shards, i);
          std::vector<const Example*> rows;
          for (int64_t k = lo; k < hi; ++k) rows.push_back(&composites[static_cast<size_t>(k)]);
          composite_parts.push_back(
              rows.empty() ? Batch{} : collate_composites(rows, bank, tok.pad_id(), device));
          if (!rows.empty()) composite_targets += target_count(composite_parts.back());
        }
      }
      return static_cast<int64_t>(chunk.size());
    }

    // Data parallelism: the normalisers of the LM, composite and slot-head terms.
    std::vector<double> loss_counts() const override {
      std::vector<double> c{static_cast<double>(batch_targets),
                            static_cast<double>(composite_targets)};
      for (const auto n : batch_labelled) c.push_back(static_cast<double>(n));
      return c;
    }
    void use_global_counts(const std::vector<double>& global) override {
      batch_targets = std::llround(global[0]);
      composite_targets = std::llround(global[1]);
      for (size_t s = 0; s < batch_labelled.size(); ++s)
        batch_labelled[s] = std::llround(global[s + 2]);
    }

    torch::Tensor shard_loss(int64_t i) override {
      const auto& part = parts[static_cast<size_t>(i)];
      torch::Tensor vision_tokens;
      torch::Tensor loss = target_nll_sum(*model, part, use_slot_head ? &vision_tokens : nullptr) /
                           static_cast<double>(std::max<int64_t>(batch_targets, 1));
      if (!composite_parts.empty() && composite_parts[static_cast<size_t>(i)].tokens.defined())
        loss = loss + opt.composite_weight *
                          target_nll_sum(*model, composite_parts[static_cast<size_t>(i)]) /
                          static_cast<double>(std::max<int64_t>(composite_targets, 1));
      if (!use_slot_head) return loss;
      auto logits = slot_head(vision_tokens);
      auto labels = part_labels[static_cast<size_t>(i)];
      if (extra_images.defined()) {
        const auto shards = static_cast<int64_t>(parts.size());
        const auto [lo, hi] = shard_range(extra_images.size(0), shards, i);
        if (hi > lo) {
          logits = torch::cat({logits, slot_head(model->vision(extra_images.slice(0, lo, hi)))});
          labels = torch::cat({labels, extra_labels.slice(0, lo, hi)});
        }
      }
      const auto aux =
          slot_head_loss(logits, labels.to(device), slot_head->slot_sizes(), &batch_labelled);
      slot_loss_parts[static_cast<size_t>(i)] = aux.item<double>();
      return loss + opt.slot_head_weight * aux;
    }

    std::vector<double> step_shares() const override {
      if (!use_slot_head) return {};
      double s = 0;
      for (double part : slot_loss_parts) s += part;  // divided by the global counts already
      return {s};
    }
    void use_step_totals(const std::vector<double>& totals) override {
      slot_loss_parts.assign(1, totals.at(0));
    }
    void after_step(int64_t) override {
      if (!use_slot_head) return;
      for (double part : slot_loss_parts) slot_loss_sum += part;
      ++slot_loss_count;
    }
    void checkpoint(int64_t step, bool final) override { on_checkpoint(step, final); }
  };

  PretrainTask task(d, bank, tok, model, slot_head, opt, truth, train_ads, synthetic, device, seed,
                    mixture_seed);
  task.on_checkpoint = [&](int64_t step, bool) {
    auto eval = evaluate_backbone(*model, tok, d, bank, "val", opt, match_threshold,
                                  derive_seed(seed, "eval"));
    eval["step"] = step;
    if (opt.composite_ads > 0)
      eval["composite"] = evaluate_composites(*model, tok, d, bank, "val", opt.eval_examples,
                                              derive_seed(seed, "eval_composites"));
    if (use_slot_head) {
      eval["slot_head"] = evaluate_slot_head(*model, *slot_head, d, truth, bank, "val",
                                             opt.eval_examples, derive_seed(seed, "eval"));
      eval["slot_head"]["train_loss"] =
          task.slot_loss_count > 0 ? task.slot_loss_sum / task.slot_loss_count : 0.0;
      task.slot_loss_sum = 0, task.slot_loss_count = 0;
    }
    history.push_back(eval);
    const nlohmann::json extra = {{"pretrain", opt.to_json()}, {"step", step}, {"seed", seed}};
    std::vector<std::pair<std::string, torch::nn::Module*>> training_modules;
    if (use_slot_head) training_modules.emplace_back("slot_head", slot_head.ptr().get());
    nlohmann::json state = trainer.state();
    state["history"] = history;
    backbone::save_checkpoint(checkpoint_dir, model, tok, extra, &optimizer, state,
                              training_modules);
  };

  if (opt.batch_size > task.epoch_size())
    fail("pretraining: batch_size ({}) exceeds the {} training examples of an epoch",
         opt.batch_size, task.epoch_size());
  // Rendered inside the budget: it is compute the method chose to spend. A resumed run renders
  // the same set again (a pure function of the seed), off the clock: its checkpoint's device
  // seconds already hold the first rendering.
  if (!resuming) meter.start();
  if (opt.synthetic_ads > 0) {
    const auto started = std::chrono::steady_clock::now();
    synthetic = render_synthetic_ads(d, "train", *renderer, opt.synthetic_ads, bank.image_size(),
                                     derive_seed(seed, "synthetic_ads"));
    synthetic_info = {
        {"ads", synthetic.size()},
        {"products", synthetic.products},
        {"renderer", opt.synthetic_renderer},
        {"seconds",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
  }
  trainer.run(task, params, optimizer);
  const int64_t step = trainer.step();
  const auto n = task.epoch_size();
  const double last_lr = trainer.last_lr();

  PretrainResult r;
  r.metrics = history.back();
  r.metrics["history"] = history;
  r.metrics["steps"] = step;
  r.metrics["examples_seen"] = step * opt.batch_size;
  r.metrics["train_examples"] = n;
  r.metrics["unknown_words"] = unknown;
  r.metrics["stopped_by"] = meter.exhausted_by();
  // What the run was planned for, so a report can tell a run cut short by the device-time cap
  // (whose cosine schedule never finished annealing) from one that ran its course.
  r.metrics["max_steps"] = opt.max_steps;
  r.metrics["max_device_seconds"] = opt.max_device_seconds;
  r.metrics["final_lr_fraction"] = last_lr > 0 ? last_lr / opt.lr : 0.0;
  r.metrics["schedule"] = trainer.schedule();
  if (!synthetic_info.is_null()) r.metrics["synthetic_ads"] = synthetic_info;
  r.spent = meter.spent();
  r.resumed = resuming;
  r.simulated = d.world.is_object();
  return r;
}

}  // namespace caig::pretraining
