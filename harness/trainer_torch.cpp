#include "harness/trainer.h"

#include <algorithm>

#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/error.h"
#include "harness/fused_adamw.h"
#include "harness/interrupt.h"
#include "harness/lr_schedule.h"
#include "harness/progress.h"
#include "harness/seeds.h"
#include "harness/sharded_backward.h"

namespace caig {

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  Rng rng(seed);
  for (size_t i = n; i > 1; --i)
    std::swap(p[i - 1], p[static_cast<size_t>(rng.uniform_int(static_cast<int>(i)))]);
  return p;
}

Trainer::Trainer(TrainerOptions options, BudgetMeter& meter, uint64_t shuffle_seed)
    : options_(std::move(options)), meter_(meter), shuffle_seed_(shuffle_seed) {
  if (options_.batch_size < 1)
    fail("trainer: batch_size must be >= 1, got {}", options_.batch_size);
  if (options_.shards < 1 || options_.shards > options_.batch_size)
    fail("trainer: shards must be in 1..batch_size ({}), got {}", options_.batch_size,
         options_.shards);
  if (options_.schedule != "constant" && options_.schedule != "cosine")
    fail("trainer: schedule '{}' is not one of: constant, cosine", options_.schedule);
  if (options_.schedule == "cosine" && options_.max_steps < 1)
    fail("trainer: a cosine schedule needs max_steps >= 1 (its horizon)");
}

void Trainer::restore(const nlohmann::json& state) {
  double seconds = 0;
  int64_t samples = 0;
  try {
    step_ = state.at("step").get<int64_t>();
    last_lr_ = state.value("last_lr", -1.0);
    schedule_ = state.value("schedule", nlohmann::json());
    // States written before these were recorded restart the clock and the sample count.
    seconds = state.value("device_seconds", 0.0);
    samples = state.value("samples", int64_t{0});
    finished_ = state.value("final", false);
  } catch (const nlohmann::json::exception& e) {
    fail("trainer state: {}", e.what());
  }
  // What the run spent before counts against the budget: a resumed run stops where an
  // uninterrupted one would.
  meter_.add_steps(step_);
  meter_.add_samples(samples);
  meter_.add_seconds(seconds);
}

nlohmann::json Trainer::state() const {
  return {{"step", step_},
          {"last_lr", last_lr_},
          {"schedule", schedule_},
          {"device_seconds", meter_.device_seconds()},
          {"samples", meter_.samples()},
          {"final", finished_}};
}

double Trainer::lr_at(const TrainerOptions& o, int64_t step, int64_t horizon, double previous) {
  if (o.schedule == "constant") return CosineSchedule{o.lr, o.warmup_steps, 1, 1.0}.at(step);
  return CosineSchedule{o.lr, o.warmup_steps, horizon, o.final_lr_ratio}.at(step, previous);
}

void Trainer::run(TrainTask& task, const std::vector<at::Tensor>& params,
                  torch::optim::Optimizer& optimizer) {
  const int64_t n = task.epoch_size();
  if (n < 1) fail("{}: there are no training examples", options_.label);
  // The cosine's horizon: max_steps, or the steps that fit the device-time cap, timed after the
  // warm-up and after this process's first steps (which pay for allocations).
  const bool cosine = options_.schedule == "cosine";
  ScheduleFit fit(std::max<int64_t>(options_.max_steps, 1),
                  cosine ? options_.max_device_seconds : 0.0,
                  std::max(options_.warmup_steps, step_ + 10), options_.schedule_probe_steps,
                  options_.schedule_margin);
  fit.restore(schedule_);

  if (finished_ && meter_.exhausted()) return;  // resumed after its final checkpoint: nothing left
  finished_ = false;
  Progress progress(options_.label, options_.progress_total);
  progress.set(step_);
  std::vector<size_t> order;
  int64_t order_epoch = -1;
  if (!meter_.running()) meter_.start();
  while (!meter_.exhausted()) {
    throw_if_interrupted(options_.label.c_str());
    // The batch of `step` is a pure function of (seed, step): a resumed run sees the same data.
    std::vector<Draw> draws;
    draws.reserve(static_cast<size_t>(options_.batch_size));
    for (int64_t k = step_ * options_.batch_size; k < (step_ + 1) * options_.batch_size; ++k) {
      const int64_t epoch = k / n;
      if (epoch != order_epoch) {
        order = seeded_permutation(static_cast<size_t>(n),
                                   derive_seed(shuffle_seed_, static_cast<uint64_t>(epoch)));
        task.begin_epoch(epoch);
        order_epoch = epoch;
      }
      draws.push_back({epoch, static_cast<int64_t>(order[static_cast<size_t>(k % n)])});
    }
    const int64_t samples = task.prepare(step_, draws, options_.shards);
    last_lr_ = lr_at(options_, step_, fit.horizon(), last_lr_);
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      const double scale = g < options_.group_lr_scale.size() ? options_.group_lr_scale[g] : 1.0;
      optimizer.param_groups()[g].options().set_lr(last_lr_ * scale);
    }
    release_gradients(params);
    sharded_backward(
        options_.shards, [&](int64_t shard) { return task.shard_loss(shard); }, params);
    if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, options_.grad_clip);
    optimizer.step();
    ++step_;
    meter_.add_steps();
    meter_.add_samples(samples);
    if (cosine) fit.observe(step_, meter_.device_seconds());
    schedule_ = fit.to_json();
    task.after_step(step_);
    progress.set(step_);
    if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0 &&
        !meter_.exhausted()) {
      meter_.stop();  // checkpoints and validation are not timed
      task.checkpoint(step_, false);
      meter_.start();
    }
    if (options_.probe && options_.probe->due(meter_)) {
      meter_.stop();
      const bool go_on = options_.probe->run(meter_);
      task.after_probe();
      meter_.start();
      if (!go_on) {
        stopped_by_probe_ = true;
        break;
      }
    }
  }
  meter_.stop();
  progress.finish();
  schedule_ = fit.to_json();
  finished_ = true;  // recorded by the final checkpoint's state()
  task.checkpoint(step_, true);
}

}  // namespace caig
