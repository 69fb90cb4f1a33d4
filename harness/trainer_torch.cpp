#include "harness/trainer.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/data_parallel.h"
#include "harness/distributed.h"
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

namespace {

// A data-parallel job's ranks must train the same thing from the same point: their views of it
// are compared before the first step, so that a rank with other data or another checkpoint is an
// error at the start, not a hang or a silent divergence.
void check_ranks_agree(dist::Group& g, const std::string& label,
                       const std::vector<std::pair<const char*, double>>& facts) {
  auto lo = torch::empty({static_cast<int64_t>(facts.size())}, torch::kFloat64);
  for (size_t i = 0; i < facts.size(); ++i) lo[static_cast<int64_t>(i)] = facts[i].second;
  auto hi = lo.clone();
  std::vector<at::Tensor> a{lo}, b{hi};
  g.all_reduce(a, dist::Reduce::Min, label + ": the ranks' training setup");
  g.all_reduce(b, dist::Reduce::Max, label + ": the ranks' training setup");
  for (size_t i = 0; i < facts.size(); ++i) {
    const double l = lo[static_cast<int64_t>(i)].item<double>();
    const double h = hi[static_cast<int64_t>(i)].item<double>();
    if (l != h)
      fail(
          "{}: the ranks disagree on the {} ({} on rank {}; between {} and {} over the {} ranks): "
          "every rank must run the same command on the same data and resume from the same "
          "checkpoint",
          label, facts[i].first, facts[i].second, g.rank(), l, h, g.size());
  }
}

}  // namespace

void Trainer::run(TrainTask& task, const std::vector<at::Tensor>& params,
                  torch::optim::Optimizer& optimizer) {
  const int64_t n = task.epoch_size();
  if (n < 1) fail("{}: there are no training examples", options_.label);
  dist::Group* group = options_.group ? options_.group : dist::group();
  const bool dp = group != nullptr && group->size() > 1;
  const int64_t ranks = dp ? group->size() : 1, rank = dp ? group->rank() : 0;
  task.part_ = {rank, ranks};
  if (dp && options_.batch_size < ranks)
    fail("{}: batch_size ({}) is smaller than the {} ranks: each rank needs a part of every step",
         options_.label, options_.batch_size, ranks);
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
  double clock_mark = 0;  // data parallelism: the meter's seconds at the last synchronisation
  if (dp) {
    int64_t numel = 0;
    for (const auto& p : params) numel += p.numel();
    check_ranks_agree(*group, options_.label,
                      {{"examples per epoch", static_cast<double>(n)},
                       {"step to start from", static_cast<double>(step_)},
                       {"batch size", static_cast<double>(options_.batch_size)},
                       {"number of parameter tensors", static_cast<double>(params.size())},
                       {"number of parameters", static_cast<double>(numel)},
                       {"shuffle seed", static_cast<double>(shuffle_seed_ % (uint64_t{1} << 52))}});
    broadcast_parameters(*group, params, options_.label);
    if (!options_.buffers.empty()) broadcast_parameters(*group, options_.buffers, options_.label);
    // Every rank's meter reads the same: the slowest rank's time so far (the job waited for it),
    // then each step's seconds summed over the ranks (device time, as the budget counts it).
    meter_.stop();
    dist::align_meter_clock(*group, meter_, options_.label);
    clock_mark = meter_.device_seconds();
  }
  Progress progress(options_.label, options_.progress_total);
  progress.set(step_);
  std::vector<size_t> order;
  int64_t order_epoch = -1;
  // The clock runs from here to a step's end, or (one process) to a checkpoint or evaluation;
  // stopped, it starts again with the next step.
  while (!meter_.exhausted()) {
    if (!meter_.running()) meter_.start();
    if (!dp) throw_if_interrupted(options_.label.c_str());  // with ranks: after the counts, below
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
    if (dp) {
      const auto [lo, hi] = shard_range(options_.batch_size, ranks, rank);
      draws = std::vector<Draw>(draws.begin() + lo, draws.begin() + hi);
    }
    int64_t samples = task.prepare(step_, draws, options_.shards);
    double grad_scale = 1.0;
    if (dp) {
      // One collective for the step's counts: samples, draws, the ranks that were signalled,
      // then the loss's normalisers.
      const auto counts = task.loss_counts();
      auto t = torch::empty({static_cast<int64_t>(counts.size()) + 3}, torch::kFloat64);
      t[0] = static_cast<double>(samples);
      t[1] = static_cast<double>(draws.size());
      t[2] = interrupt_requested() ? 1.0 : 0.0;
      for (size_t i = 0; i < counts.size(); ++i) t[static_cast<int64_t>(i) + 3] = counts[i];
      std::vector<at::Tensor> v{t};
      group->all_reduce(v, dist::Reduce::Sum, options_.label + ": the step's counts");
      // A signal reaches the ranks at slightly different points of a step: all of them stop
      // before this step's update, the same for every rank.
      if (t[2].item<double>() > 0) request_interrupt(true);
      throw_if_interrupted(options_.label.c_str());
      samples = static_cast<int64_t>(std::llround(t[0].item<double>()));
      task.part_.share = static_cast<double>(draws.size()) / t[1].item<double>();
      if (counts.empty()) {
        grad_scale = task.part_.share;
      } else {
        std::vector<double> global;
        for (size_t i = 0; i < counts.size(); ++i)
          global.push_back(t[static_cast<int64_t>(i) + 3].item<double>());
        task.use_global_counts(global);
      }
    }
    last_lr_ = lr_at(options_, step_, fit.horizon(), last_lr_);
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      const double scale = g < options_.group_lr_scale.size() ? options_.group_lr_scale[g] : 1.0;
      optimizer.param_groups()[g].options().set_lr(last_lr_ * scale);
    }
    release_gradients(params);
    sharded_backward(
        options_.shards, [&](int64_t shard) { return task.shard_loss(shard); }, params);
    if (dp) dist::all_reduce_gradients(*group, params, grad_scale, options_.label);
    if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, options_.grad_clip);
    optimizer.step();
    if (dp && !options_.buffers.empty())
      dist::average_buffers(*group, options_.buffers, options_.label);
    ++step_;
    meter_.add_steps();
    meter_.add_samples(samples);
    if (dp) {
      // One collective for the step's seconds and the task's reported losses. The meter stops
      // at each step's end, so that every rank takes its decisions (exhausted, a probe or a
      // checkpoint due) on the same figures.
      meter_.stop();
      const double local = meter_.device_seconds() - clock_mark;
      const auto shares = task.step_shares();
      std::vector<double> mine{local};
      mine.insert(mine.end(), shares.begin(), shares.end());
      auto t = torch::tensor(mine, torch::kFloat64);
      std::vector<at::Tensor> v{t};
      group->all_reduce(v, dist::Reduce::Sum, options_.label + ": the step's clock and losses");
      const double* sums = t.data_ptr<double>();
      meter_.add_seconds(sums[0] - local);
      clock_mark = meter_.device_seconds();
      if (!shares.empty()) task.use_step_totals({sums + 1, sums + 1 + shares.size()});
    }
    if (cosine) fit.observe(step_, meter_.device_seconds());
    schedule_ = fit.to_json();
    task.after_step(step_);
    progress.set(step_);
    if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0 &&
        !meter_.exhausted()) {
      meter_.stop();  // checkpoints and validation are not timed
      task.checkpoint(step_, false);
    }
    if (options_.probe && options_.probe->due(meter_)) {
      meter_.stop();
      bool go_on = options_.probe->run(meter_);
      task.after_probe();
      if (dp) {  // rank 0's evaluation decides (every rank's should agree)
        auto flag = torch::tensor({go_on ? 1.0 : 0.0}, torch::kFloat64);
        std::vector<at::Tensor> v{flag};
        group->broadcast(v, 0, options_.label + ": the probe's decision");
        go_on = flag.item<double>() > 0.5;
      }
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
