#include "optimisation/ctr_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "datasets/renderer_plugin.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/budget.h"
#include "harness/data_parallel.h"
#include "harness/distributed.h"
#include "harness/error.h"
#include "harness/fused_adamw.h"
#include "harness/image_tensor.h"
#include "harness/interrupt.h"
#include "harness/progress.h"
#include "harness/seeds.h"
#include "harness/sharded_backward.h"
#include "harness/trainer.h"
#include "metrics/match_rate.h"
#include "optimisers/optimiser.h"
#include "prompts/prompt_model.h"
#include "rewards/reward_model.h"

namespace fs = std::filesystem;

namespace caig::optimisation {

void LoopOptions::check() const {
  if (iterations < 0 || products_per_iteration < 1 || samples_per_product < 2 ||
      max_new_tokens < 1 || sample_batch_size < 1 || batch_size < 1 || passes < 1)
    fail(
        "optimise: iterations must be >= 0, samples_per_product >= 2, and products_per_iteration, "
        "max_new_tokens, sample_batch_size, batch_size and passes >= 1");
  if (!(temperature > 0)) fail("optimise: temperature must be > 0, got {}", temperature);
  if (!(lr > 0) || !(weight_decay >= 0) || warmup_steps < 0 || !(grad_clip >= 0))
    fail("optimise: lr must be > 0, weight_decay, warmup_steps and grad_clip >= 0");
  if (shards < 1 || shards > batch_size)
    fail("optimise: shards must be in 1..batch_size ({}), got {}", batch_size, shards);
  if (!(tie_threshold >= 0 && tie_threshold < 0.5))
    fail("optimise: tie_threshold must be in [0, 0.5), got {}", tie_threshold);
  if (!(max_device_seconds >= 0)) fail("optimise: max_device_seconds must be >= 0");
  if (eval_products < 1 || eval_samples_per_product < 1 || bootstrap < 0)
    fail("optimise: eval_products and eval_samples_per_product must be >= 1, bootstrap >= 0");
}

at::Tensor mask_patches(const at::Tensor& image, int64_t patch, double ratio, uint64_t seed) {
  if (image.dim() != 3) fail("mask_patches: image must be [3, H, W]");
  if (patch < 1) fail("mask_patches: patch must be >= 1");
  const int64_t gh = image.size(1) / patch, gw = image.size(2) / patch;
  const int64_t n = gh * gw;
  const auto k = static_cast<int64_t>(std::llround(ratio * static_cast<double>(n)));
  auto out = image.clone();
  const auto order = seeded_permutation(static_cast<size_t>(n), seed);
  for (int64_t i = 0; i < k; ++i) {
    const auto cell = static_cast<int64_t>(order[static_cast<size_t>(i)]);
    const int64_t r = cell / gw, c = cell % gw;
    out.slice(1, r * patch, (r + 1) * patch).slice(2, c * patch, (c + 1) * patch).zero_();
  }
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Seconds per part of the loop (all inside the arm's budget but evaluation).
struct Seconds {
  double sampling = 0, rendering = 0, judging = 0, reference = 0, training = 0, evaluation = 0;
  nlohmann::json to_json() const {
    return {{"sampling", sampling},   {"rendering", rendering}, {"judging", judging},
            {"reference", reference}, {"training", training},   {"evaluation", evaluation}};
  }
};

// Rendered ads with what the judge and the world see of them.
struct Rendered {
  AdSet ads;
  std::vector<bool> matched;  // the world's judge on the description
};

Rendered render(LoopParts& parts, const std::vector<const LoopProduct*>& products,
                const std::vector<std::string>& texts, const std::vector<uint64_t>& seeds,
                const std::string& tag) {
  std::vector<RenderJob> jobs;
  for (size_t i = 0; i < products.size(); ++i)
    jobs.push_back({&products[i]->rgba, texts[i], seeds[i]});
  auto drawn = parts.renderer.render_all(jobs);
  if (drawn.size() != jobs.size())
    fail("renderer: {} ads for {} requests", drawn.size(), jobs.size());
  Rendered r;
  r.ads.has_text = parts.has_text;
  std::vector<at::Tensor> images;
  for (size_t i = 0; i < drawn.size(); ++i) {
    const auto& p = *products[i];
    AdInfo info = p.ad;
    if (!parts.ad_files.empty()) {
      info.image_path = parts.ad_files / (tag + "-" + std::to_string(i) + ".png");
      if (!cv::imwrite(info.image_path.string(), drawn[i].image))
        fail("cannot write {}", info.image_path.string());
    }
    images.push_back(bgr_image_tensor(drawn[i].image));
    if (parts.world && p.world) {
      const auto ad = parts.world->score_ad(*p.world, texts[i], seeds[i], std::move(drawn[i]));
      r.ads.true_ctr.push_back(ad.terms.ctr());
      r.matched.push_back(ad.matched);
    } else {
      r.matched.push_back(
          metrics::judge_description(p.ad.category, texts[i], parts.match_threshold).matched);
    }
    r.ads.ads.push_back(std::move(info));
  }
  r.ads.images = torch::stack(images);
  return r;
}

// P(first better) for each pair, from both orders when asked; checked.
std::vector<double> judge(LoopParts& parts, const AdSet& ads, const std::vector<PairIndex>& pairs,
                          bool both_orders) {
  auto p = parts.judge.prob_left(ads, pairs);
  if (p.size() != pairs.size())
    fail("the judge answered {} probabilities for {} pairs", p.size(), pairs.size());
  if (both_orders) {
    std::vector<PairIndex> swapped;
    for (const auto& q : pairs) swapped.push_back({q.right, q.left});
    const auto s = parts.judge.prob_left(ads, swapped);
    if (s.size() != pairs.size())
      fail("the judge answered {} probabilities for {} pairs", s.size(), pairs.size());
    for (size_t i = 0; i < p.size(); ++i) p[i] = 0.5 * (p[i] + 1.0 - s[i]);
  }
  for (double v : p)
    if (!(v >= 0 && v <= 1)) fail("the judge answered P = {}, outside [0, 1]", v);
  return p;
}

// log-probs of `samples` for `products` under `model`, without gradients, in batches.
std::vector<double> score(PromptModel& model, const std::vector<const PromptProduct*>& products,
                          const std::vector<const PromptSample*>& samples, int64_t batch) {
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  for (size_t at = 0; at < products.size(); at += static_cast<size_t>(batch)) {
    const size_t end = std::min(products.size(), at + static_cast<size_t>(batch));
    const auto lp = model
                        .sequence_logprobs({products.begin() + static_cast<std::ptrdiff_t>(at),
                                            products.begin() + static_cast<std::ptrdiff_t>(end)},
                                           {samples.begin() + static_cast<std::ptrdiff_t>(at),
                                            samples.begin() + static_cast<std::ptrdiff_t>(end)})
                        .to(torch::kCPU, torch::kFloat64)
                        .contiguous();
    out.insert(out.end(), lp.data_ptr<double>(), lp.data_ptr<double>() + lp.numel());
  }
  return out;
}

// One judged training pair, with its second view for optimisers that ask for one.
struct TrainPair {
  const LoopProduct* product = nullptr;
  PromptSample chosen, rejected;
  PromptProduct perturbed;                         // the perturbed product (when asked for)
  const PromptSample* perturbed_sample = nullptr;  // chosen, or another pair's (`code`)
  double ref_chosen = 0, ref_rejected = 0, ref_perturbed = 0;
};

class PreferenceTask : public TrainTask {
 public:
  PreferenceTask(PromptModel& policy, const Optimiser& optimiser,
                 const std::vector<TrainPair>& pairs, int64_t passes,
                 const std::vector<at::Tensor>& params)
      : policy_(policy),
        optimiser_(optimiser),
        needs_(optimiser.needs()),
        pairs_(pairs),
        passes_(passes),
        params_(params) {}

  int64_t epoch_size() const override { return static_cast<int64_t>(pairs_.size()); }
  int64_t prepare(int64_t, const std::vector<Draw>& draws, int64_t shards) override {
    chunk_.clear();
    for (const auto& d : draws)
      if (d.epoch < passes_) chunk_.push_back(d.example);
    shard_losses_.assign(static_cast<size_t>(shards), 0.0);
    shards_ = shards;
    divisor_ = static_cast<double>(chunk_.size());
    return static_cast<int64_t>(chunk_.size()) * sequences_per_pair();
  }
  // The loss is a mean over the step's pairs (those within the passes), on every rank together.
  std::vector<double> loss_counts() const override { return {static_cast<double>(chunk_.size())}; }
  void use_global_counts(const std::vector<double>& global) override { divisor_ = global[0]; }
  at::Tensor shard_loss(int64_t shard) override {
    const auto [lo, hi] = shard_range(static_cast<int64_t>(chunk_.size()), shards_, shard);
    if (hi <= lo) return params_.front().sum() * 0.0;  // an empty part: no gradient
    std::vector<const PromptProduct*> products;
    std::vector<const PromptSample*> samples;
    const int64_t m = hi - lo;
    auto pair = [&](int64_t k) -> const TrainPair& {
      return pairs_[static_cast<size_t>(chunk_[static_cast<size_t>(lo + k)])];
    };
    for (int64_t k = 0; k < m; ++k)
      products.push_back(&pair(k).product->prompt), samples.push_back(&pair(k).chosen);
    if (needs_.rejected)
      for (int64_t k = 0; k < m; ++k)
        products.push_back(&pair(k).product->prompt), samples.push_back(&pair(k).rejected);
    const bool perturbed = needs_.perturbation != "none";
    if (perturbed)
      for (int64_t k = 0; k < m; ++k)
        products.push_back(&pair(k).perturbed), samples.push_back(pair(k).perturbed_sample);
    at::Tensor counts;
    const auto lp = policy_.sequence_logprobs(products, samples, &counts);
    const auto opts = torch::TensorOptions().dtype(lp.scalar_type()).device(lp.device());
    auto column = [&](double TrainPair::*field) {
      std::vector<double> v;
      for (int64_t k = 0; k < m; ++k) v.push_back(pair(k).*field);
      return torch::tensor(v, torch::kFloat64).to(opts);
    };
    PreferenceLogps l;
    int64_t at = 0;
    l.chosen = lp.slice(0, at, at + m);
    l.chosen_tokens = counts.slice(0, at, at + m);
    at += m;
    if (needs_.rejected) {
      l.rejected = lp.slice(0, at, at + m);
      l.rejected_tokens = counts.slice(0, at, at + m);
      at += m;
    }
    if (perturbed) l.perturbed = lp.slice(0, at, at + m);
    if (needs_.reference) {
      l.ref_chosen = column(&TrainPair::ref_chosen);
      if (needs_.rejected) l.ref_rejected = column(&TrainPair::ref_rejected);
      if (perturbed) l.ref_perturbed = column(&TrainPair::ref_perturbed);
    }
    const auto per_pair = optimiser_.loss(l);
    if (per_pair.dim() != 1 || per_pair.size(0) != m)
      fail("optimiser: its loss has {} dimensions and {} entries, not [{}]", per_pair.dim(),
           per_pair.numel(), m);
    const auto loss = per_pair.sum() / divisor_;
    shard_losses_[static_cast<size_t>(shard)] = loss.item<double>();
    return loss;
  }
  std::vector<double> step_shares() const override {
    double s = 0;
    for (double v : shard_losses_) s += v;  // divided by the global pair count already
    return {s};
  }
  void use_step_totals(const std::vector<double>& totals) override {
    shard_losses_.assign(1, totals.at(0));
  }
  void after_step(int64_t) override {
    double s = 0;
    for (double v : shard_losses_) s += v;
    if (!std::isfinite(s)) fail("optimiser: the loss is {} at a step", s);
    loss_sum_ += s;
    ++loss_steps_;
  }
  double mean_loss() const { return loss_steps_ > 0 ? loss_sum_ / loss_steps_ : 0.0; }

 private:
  int64_t sequences_per_pair() const {
    return 1 + (needs_.rejected ? 1 : 0) + (needs_.perturbation != "none" ? 1 : 0);
  }
  PromptModel& policy_;
  const Optimiser& optimiser_;
  const OptimiserNeeds needs_;
  const std::vector<TrainPair>& pairs_;
  const int64_t passes_;
  const std::vector<at::Tensor>& params_;
  std::vector<int64_t> chunk_;
  std::vector<double> shard_losses_;
  int64_t shards_ = 1;
  double divisor_ = 1;
  double loss_sum_ = 0;
  int64_t loss_steps_ = 0;
};

// The held-out measurement of one iteration. The reference's samples and ads are those of
// iteration 0.
struct EvalState {
  std::vector<const PromptProduct*> prompts;  // row-aligned with the samples
  std::vector<const LoopProduct*> products;
  std::vector<uint64_t> render_seeds;
  std::vector<PromptSample> ref_samples;
  Rendered ref_ads;
};

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

LoopResult run_loop(LoopParts& parts, const std::vector<LoopProduct>& train,
                    const std::vector<LoopProduct>& eval, const LoopOptions& o, uint64_t seed,
                    uint64_t eval_seed, const std::string& label) {
  o.check();
  const OptimiserNeeds needs = parts.optimiser.needs();
  const bool trains = needs.trains && o.iterations > 0;
  if (trains && !parts.policy.trainable())
    fail("{}: the prompt model is not trainable, so only the optimiser `none` can run it", label);
  if (needs.rejected && o.samples_per_product != 2)
    fail("{}: a pairwise optimiser needs samples_per_product = 2, got {}", label,
         o.samples_per_product);
  if (train.empty()) fail("{}: no training products", label);
  LoopResult result;
  Seconds sec;
  BudgetMeter meter({0, 0, o.max_device_seconds}, parts.device);
  int64_t total_steps = 0, total_samples = 0, total_pairs = 0, total_ties = 0;

  // The frozen reference: the policy as it starts.
  std::unique_ptr<PromptModel> reference;
  if (parts.policy.trainable()) reference = parts.policy.clone();
  std::vector<at::Tensor> params =
      parts.policy.trainable() ? parts.policy.parameters() : std::vector<at::Tensor>{};
  std::unique_ptr<FusedAdamW> adam;
  if (trains)
    adam = std::make_unique<FusedAdamW>(
        params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));

  SampleOptions eval_sampling;
  eval_sampling.temperature = 1.0;  // the measurement samples as pretraining's does
  eval_sampling.max_new_tokens = o.max_new_tokens;
  eval_sampling.batch_size = o.sample_batch_size;
  SampleOptions train_sampling = eval_sampling;
  train_sampling.temperature = o.temperature;

  EvalState es;
  std::vector<PromptProduct> eval_prompts;
  for (const auto& p : eval) eval_prompts.push_back(p.prompt);
  for (size_t p = 0; p < eval.size(); ++p)
    for (int64_t j = 0; j < o.eval_samples_per_product; ++j) {
      es.prompts.push_back(&eval[p].prompt);
      es.products.push_back(&eval[p]);
      es.render_seeds.push_back(derive_seed(derive_seed(eval_seed, "render"), es.products.size()));
    }

  auto measure = [&](int64_t iteration) {
    const auto started = Clock::now();
    nlohmann::json row = {{"iteration", iteration}};
    const auto samples =
        parts.policy.sample(eval_prompts, o.eval_samples_per_product, eval_sampling, eval_seed);
    if (samples.size() != es.prompts.size())
      fail("{}: the prompt model returned {} samples for {}", label, samples.size(),
           es.prompts.size());
    std::vector<metrics::SampledDescription> described;
    std::vector<std::string> texts;
    std::set<std::string> distinct;
    for (size_t i = 0; i < samples.size(); ++i) {
      described.push_back(
          {es.products[i]->ad.product_id, es.products[i]->ad.category, samples[i].text});
      texts.push_back(samples[i].text);
      distinct.insert(samples[i].text);
    }
    row["match"] =
        metrics::match_rate(described, parts.match_threshold, static_cast<int>(o.bootstrap),
                            derive_seed(eval_seed, "match_interval"))
            .to_json();
    row["distinct_rate"] = static_cast<double>(distinct.size()) /
                           static_cast<double>(std::max<size_t>(1, texts.size()));
    auto ads = render(parts, es.products, texts, es.render_seeds, "eval");
    if (iteration == 0) {
      es.ref_samples = samples;
      es.ref_ads = ads;
    }
    // The arm's ads against the reference's, side by side in one AdSet.
    AdSet both = ads.ads;
    const auto n = both.size();
    both.ads.insert(both.ads.end(), es.ref_ads.ads.ads.begin(), es.ref_ads.ads.ads.end());
    both.images = torch::cat({ads.ads.images, es.ref_ads.ads.images});
    if (!both.true_ctr.empty())
      both.true_ctr.insert(both.true_ctr.end(), es.ref_ads.ads.true_ctr.begin(),
                           es.ref_ads.ads.true_ctr.end());
    std::vector<PairIndex> pairs;
    for (int64_t i = 0; i < n; ++i) pairs.push_back({i, n + i});
    row["proxy_win_rate"] = mean(judge(parts, both, pairs, o.judge_both_orders));
    if (!ads.ads.true_ctr.empty()) {
      std::vector<double> wins;
      for (int64_t i = 0; i < n; ++i) {
        const double a = ads.ads.true_ctr[static_cast<size_t>(i)],
                     b = es.ref_ads.ads.true_ctr[static_cast<size_t>(i)];
        wins.push_back(a > b ? 1.0 : a < b ? 0.0 : 0.5);
      }
      row["gold_ctr"] = mean(ads.ads.true_ctr);
      row["gold_win_rate"] = mean(wins);
    }
    if (reference) {
      std::vector<const PromptSample*> rows;
      for (const auto& s : samples) rows.push_back(&s);
      const auto lp = score(parts.policy, es.prompts, rows, o.sample_batch_size);
      const auto lr = score(*reference, es.prompts, rows, o.sample_batch_size);
      std::vector<double> kl;
      for (size_t i = 0; i < lp.size(); ++i) kl.push_back(lp[i] - lr[i]);
      row["kl"] = mean(kl);
    }
    sec.evaluation += since(started);
    return row;
  };

  result.iterations.push_back(measure(0));
  const auto order = seeded_permutation(train.size(), derive_seed(seed, "slices"));
  const auto slice_size =
      std::min<int64_t>(o.products_per_iteration, static_cast<int64_t>(train.size()));
  Progress progress(label, o.iterations);
  for (int64_t it = 1; it <= o.iterations; ++it) {
    throw_if_interrupted(label.c_str());
    if (!needs.trains) {
      // The control arm does not change: its later rows are its first, by construction.
      auto row = result.iterations.front();
      row["iteration"] = it;
      result.iterations.push_back(row);
      progress.set(it);
      continue;
    }
    // Data parallelism: each rank timed its own sampling and judging; the job's is the slowest's,
    // so that every rank stops at the same iteration.
    if (dist::Group* g = dist::group(); g && o.max_device_seconds > 0)
      dist::align_meter_clock(*g, meter, label);
    if (meter.exhausted()) {
      result.stopped_by = meter.exhausted_by();
      break;
    }
    const uint64_t it_seed = derive_seed(seed, static_cast<uint64_t>(it));
    // The iteration's products: the next slice of the seeded order, wrapping around.
    std::vector<const LoopProduct*> slice;
    std::vector<PromptProduct> slice_prompts;
    for (int64_t k = 0; k < slice_size; ++k) {
      const auto& p = train[order[static_cast<size_t>(((it - 1) * slice_size + k) %
                                                      static_cast<int64_t>(train.size()))]];
      slice.push_back(&p);
      slice_prompts.push_back(p.prompt);
    }
    const int64_t n = o.samples_per_product;
    std::vector<PromptSample> samples;
    {
      BudgetMeter::Scope s(meter);
      const auto t = Clock::now();
      samples =
          parts.policy.sample(slice_prompts, n, train_sampling, derive_seed(it_seed, "sample"));
      sec.sampling += since(t);
    }
    if (static_cast<int64_t>(samples.size()) != slice_size * n)
      fail("{}: the prompt model returned {} samples for {}", label, samples.size(),
           slice_size * n);
    std::vector<const LoopProduct*> rows;
    std::vector<std::string> texts;
    std::vector<uint64_t> seeds;
    for (int64_t k = 0; k < slice_size; ++k)
      for (int64_t j = 0; j < n; ++j) {
        rows.push_back(slice[static_cast<size_t>(k)]);
        texts.push_back(samples[static_cast<size_t>(k * n + j)].text);
        // Both samples of a product are rendered with the same seed (CAIG).
        seeds.push_back(derive_seed(derive_seed(it_seed, "render"), static_cast<uint64_t>(k)));
      }
    Rendered ads;
    {
      BudgetMeter::Scope s(meter);
      const auto t = Clock::now();
      ads = render(parts, rows, texts, seeds, "train" + std::to_string(it));
      sec.rendering += since(t);
    }
    // The judge's verdicts: one comparison for a pair, a knockout over n > 2 samples.
    std::vector<TrainPair> pairs;
    int64_t ties = 0, identical = 0, gold_agree = 0, gold_known = 0;
    int64_t mixed = 0, judge_picks_matched = 0, gold_picks_matched = 0;
    {
      BudgetMeter::Scope s(meter);
      const auto t = Clock::now();
      std::vector<int64_t> champion(static_cast<size_t>(slice_size), 0),
          loser(static_cast<size_t>(slice_size), 1);
      std::vector<double> p_champion(static_cast<size_t>(slice_size), 0.5);
      for (int64_t j = 1; j < n; ++j) {
        std::vector<PairIndex> q;
        for (int64_t k = 0; k < slice_size; ++k)
          q.push_back({k * n + champion[static_cast<size_t>(k)], k * n + j});
        const auto p = judge(parts, ads.ads, q, o.judge_both_orders);
        for (int64_t k = 0; k < slice_size; ++k) {
          auto& c = champion[static_cast<size_t>(k)];
          if (p[static_cast<size_t>(k)] < 0.5) {
            loser[static_cast<size_t>(k)] = c;
            c = j;
            p_champion[static_cast<size_t>(k)] = 1.0 - p[static_cast<size_t>(k)];
          } else {
            loser[static_cast<size_t>(k)] = j;
            p_champion[static_cast<size_t>(k)] = p[static_cast<size_t>(k)];
          }
        }
      }
      sec.judging += since(t);
      for (int64_t k = 0; k < slice_size; ++k) {
        const int64_t a = k * n + champion[static_cast<size_t>(k)],
                      b = k * n + loser[static_cast<size_t>(k)];
        const auto& sa = samples[static_cast<size_t>(a)];
        const auto& sb = samples[static_cast<size_t>(b)];
        const double p = p_champion[static_cast<size_t>(k)];
        nlohmann::json rec = {{"iteration", it},
                              {"product_id", slice[static_cast<size_t>(k)]->ad.product_id},
                              {"chosen", sa.text},
                              {"rejected", sb.text},
                              {"p_chosen", p}};
        bool keep = true;
        if (n == 2 && sa.text == sb.text) {
          ++identical;
          keep = false;
          rec["dropped"] = "identical";
        } else if (n == 2 && std::abs(p - 0.5) <= o.tie_threshold) {
          ++ties;
          keep = false;
          rec["dropped"] = "tie";
        }
        if (!ads.ads.true_ctr.empty()) {
          const double ca = ads.ads.true_ctr[static_cast<size_t>(a)],
                       cb = ads.ads.true_ctr[static_cast<size_t>(b)];
          rec["true_ctr_chosen"] = ca;
          rec["true_ctr_rejected"] = cb;
          if (keep && ca != cb) ++gold_known, gold_agree += ca > cb;
        }
        const bool ma = ads.matched[static_cast<size_t>(a)],
                   mb = ads.matched[static_cast<size_t>(b)];
        rec["matched_chosen"] = ma;
        rec["matched_rejected"] = mb;
        if (keep && ma != mb) {
          ++mixed;
          judge_picks_matched += ma;
          if (!ads.ads.true_ctr.empty())
            gold_picks_matched += (ma ? ads.ads.true_ctr[static_cast<size_t>(a)] >
                                            ads.ads.true_ctr[static_cast<size_t>(b)]
                                      : ads.ads.true_ctr[static_cast<size_t>(b)] >
                                            ads.ads.true_ctr[static_cast<size_t>(a)]);
        }
        result.records.push_back(std::move(rec));
        if (!keep) continue;
        TrainPair tp;
        tp.product = slice[static_cast<size_t>(k)];
        tp.chosen = sa;
        tp.rejected = sb;
        pairs.push_back(std::move(tp));
      }
    }
    // Second views of the chosen descriptions.
    const int64_t patch = parts.policy.image_patch() > 0 ? parts.policy.image_patch() : 8;
    const int64_t m = static_cast<int64_t>(pairs.size());
    if (needs.perturbation != "none" && m > 0) {
      Rng rng(derive_seed(it_seed, "perturb"));
      // Another product of the batch: a seeded shift, so none is its own.
      const int64_t shift = m > 1 ? 1 + rng.uniform_index(m - 1) : 0;
      for (int64_t k = 0; k < m; ++k) {
        auto& tp = pairs[static_cast<size_t>(k)];
        const std::string& how = needs.perturbation;
        bool use_mask = how == "mask" || m == 1;
        if (!use_mask && (how == "either" || how == "code")) use_mask = rng.bernoulli(0.5);
        tp.perturbed_sample = &tp.chosen;
        if (use_mask) {
          tp.perturbed = tp.product->prompt;
          tp.perturbed.image =
              mask_patches(tp.product->prompt.image, patch, needs.mask_ratio,
                           derive_seed(derive_seed(it_seed, "mask"), static_cast<uint64_t>(k)));
        } else {
          const auto& other = pairs[static_cast<size_t>((k + shift) % m)];
          tp.perturbed = other.product->prompt;
          if (how == "code") tp.perturbed_sample = &other.chosen;
        }
      }
    }
    if (needs.reference && m > 0) {
      BudgetMeter::Scope s(meter);
      const auto t = Clock::now();
      std::vector<const PromptProduct*> prods;
      std::vector<const PromptSample*> rowsamples;
      for (const auto& tp : pairs)
        prods.push_back(&tp.product->prompt), rowsamples.push_back(&tp.chosen);
      if (needs.rejected)
        for (const auto& tp : pairs)
          prods.push_back(&tp.product->prompt), rowsamples.push_back(&tp.rejected);
      if (needs.perturbation != "none")
        for (const auto& tp : pairs)
          prods.push_back(&tp.perturbed), rowsamples.push_back(tp.perturbed_sample);
      const auto lp = score(*reference, prods, rowsamples, o.sample_batch_size);
      size_t at = 0;
      for (auto& tp : pairs) tp.ref_chosen = lp[at++];
      if (needs.rejected)
        for (auto& tp : pairs) tp.ref_rejected = lp[at++];
      if (needs.perturbation != "none")
        for (auto& tp : pairs) tp.ref_perturbed = lp[at++];
      sec.reference += since(t);
    }
    nlohmann::json train_row = {
        {"products", slice_size},
        {"pairs", m},
        {"ties", ties},
        {"identical", identical},
        {"judge_gold_agreement", gold_known > 0
                                     ? nlohmann::json(static_cast<double>(gold_agree) / gold_known)
                                     : nlohmann::json(nullptr)},
        {"pairs_one_matched", mixed},
        {"judge_picks_matched",
         mixed > 0 ? nlohmann::json(static_cast<double>(judge_picks_matched) / mixed)
                   : nlohmann::json(nullptr)}};
    if (!ads.ads.true_ctr.empty() && mixed > 0)
      train_row["gold_picks_matched"] = static_cast<double>(gold_picks_matched) / mixed;
    int64_t steps = 0;
    if (m > 0) {
      const int64_t batch = std::min(o.batch_size, m);
      steps = (o.passes * m + batch - 1) / batch;
      if (dist::Group* g = dist::group(); g && o.max_device_seconds > 0)
        dist::align_meter_clock(*g, meter, label);  // the same training cap on every rank
      const double left = o.max_device_seconds > 0
                              ? std::max(1e-9, o.max_device_seconds - meter.device_seconds())
                              : 0.0;
      BudgetMeter it_meter({0, steps, left}, parts.device);
      TrainerOptions topt;
      topt.batch_size = batch;
      topt.lr = o.lr;
      topt.warmup_steps = total_steps < o.warmup_steps ? o.warmup_steps - total_steps : 0;
      topt.grad_clip = o.grad_clip;
      topt.shards = std::min(o.shards, batch);
      topt.label = label + " it" + std::to_string(it);
      topt.progress_total = steps;
      PreferenceTask task(parts.policy, parts.optimiser, pairs, o.passes, params);
      Trainer trainer(topt, it_meter, derive_seed(it_seed, "order"));
      const auto t = Clock::now();
      trainer.run(task, params, *adam);
      sec.training += since(t);
      steps = trainer.step();
      meter.add_seconds(it_meter.device_seconds());
      meter.add_steps(steps);
      meter.add_samples(it_meter.samples());
      total_samples += it_meter.samples();
      train_row["loss"] = task.mean_loss();
      if (it_meter.exhausted_by() == "device_seconds") result.stopped_by = "device_seconds";
    }
    total_steps += steps;
    total_pairs += m;
    total_ties += ties + identical;
    train_row["steps"] = steps;
    auto row = measure(it);
    row["train"] = train_row;
    result.iterations.push_back(row);
    progress.set(it);
    if (!result.stopped_by.empty()) break;
  }
  progress.finish();
  result.spent = meter.spent();
  result.spent["pairs"] = total_pairs;
  result.spent["dropped_pairs"] = total_ties;
  result.spent["optimiser_steps"] = total_steps;
  result.spent["sequences"] = total_samples;
  result.spent["seconds"] = sec.to_json();
  return result;
}

}  // namespace caig::optimisation
