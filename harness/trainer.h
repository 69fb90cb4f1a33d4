// The one training loop of the harness, shared by pretraining, every trainable reward model and
// the preference optimisers: it owns the budget and the clock (BudgetMeter), the epoch order
// (a seeded permutation per epoch, a pure function of (seed, epoch)), the learning-rate schedule
// (warm-up, then constant or a cosine fitted to a device-time cap: lr_schedule.h), the sharded
// CPU step (sharded_backward.h), gradient clipping, the optimiser step, periodic checkpoints with
// the state a resumed run needs, interrupts (interrupt.h) and progress. A model supplies a
// TrainTask: how many examples an epoch has, how to build the batch of given examples, and the
// loss of each shard of it. Data parallelism over processes goes here too: with a process group
// (distributed.h) each rank prepares its contiguous part of every step's draws, the gradients are
// summed over the ranks (data_parallel.h), and the budget counts every rank's samples and device
// seconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace torch::optim {
class Optimizer;
}

namespace caig {

class BudgetMeter;
namespace dist {
class Group;
}

// Evaluations during training at points of the spent budget (learning curves, early stopping).
// After every step the trainer asks due(); when it is, the meter's clock is stopped (evaluation
// is not timed), run() scores the model, and the task's after_probe() puts it back into training
// mode. run() returning false ends the training as an exhausted budget would.
class TrainingProbe {
 public:
  virtual ~TrainingProbe() = default;
  virtual bool due(const BudgetMeter& meter) = 0;
  virtual bool run(const BudgetMeter& meter) = 0;
};

struct TrainerOptions {
  int64_t batch_size = 32;   // examples per step
  double lr = 1e-3;          // the peak learning rate
  int64_t warmup_steps = 0;  // linear warm-up from lr / warmup_steps
  // "constant": lr after the warm-up; "cosine": decays to lr * final_lr_ratio at the horizon,
  // which is max_steps or, with a device-time cap and schedule_probe_steps > 0, what fits the cap
  // (ScheduleFit, lr_schedule.h).
  std::string schedule = "constant";
  double final_lr_ratio = 0.1;
  int64_t max_steps = 0;  // the cosine's planned horizon (the meter's own limits stop the loop)
  double max_device_seconds = 0;
  int64_t schedule_probe_steps = 0;
  double schedule_margin = 0.05;
  double grad_clip = 0;  // max gradient norm; 0: none
  // The learning rate of the optimiser's parameter group g is lr times group_lr_scale[g] (the
  // schedule scales them all alike); groups past its end, or all when empty, get 1.
  std::vector<double> group_lr_scale;
  int64_t shards = 1;              // parts of each batch (sharded_backward.h)
  int64_t checkpoint_every = 0;    // steps between TrainTask::checkpoint calls; 0: only at the end
  std::string label = "training";  // of the progress display
  int64_t progress_total = 0;      // 0: an open-ended count
  TrainingProbe* probe = nullptr;  // not owned; none: no evaluations during training
  // Data parallelism over this group's ranks (not owned); null: the process's (dist::group()),
  // which is none in a single process.
  dist::Group* group = nullptr;
  // The model's buffers that training updates (BatchNorm's running statistics): with several
  // ranks each rank updates them from its own part of the batch, so the trainer starts them from
  // rank 0's and averages them over the ranks after every step, keeping the replicas identical
  // (each rank still normalises by its own part's batch statistics, as PyTorch's
  // DistributedDataParallel does without SyncBatchNorm).
  std::vector<at::Tensor> buffers;
};

// One example of a step: its position in the epoch's order, and the example it points to.
struct Draw {
  int64_t epoch = 0;
  int64_t example = 0;  // index into that epoch's examples, [0, epoch_size)
};

// Which contiguous part of each step's draws this rank prepares (rank 0 of 1: all of them).
struct RankPart {
  int64_t rank = 0, ranks = 1;
  // This rank's draws over the whole step's (set before the first shard_loss of each step).
  double share = 1.0;
};

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual int64_t epoch_size() const = 0;  // examples per epoch, > 0
  // Called before the first draw of each epoch (in order), e.g. to draw the epoch's tasks.
  virtual void begin_epoch(int64_t epoch) {}
  // Builds the batch of `step` from its draws, split into `shards` parts; returns the samples
  // it counts against the budget.
  virtual int64_t prepare(int64_t step, const std::vector<Draw>& draws, int64_t shards) = 0;
  // The loss of part `shard` of the prepared batch, a share of the batch's loss (the parts add
  // up to it); on CPU the parts run on threads of their own (sharded_backward.h).
  virtual at::Tensor shard_loss(int64_t shard) = 0;
  // After each optimiser step (e.g. to record the loss).
  virtual void after_step(int64_t steps_done) {}
  // Every checkpoint_every steps while budget remains, and once at the end (final); the meter's
  // clock is stopped meanwhile (validation is not timed). Trainer::state() is what a resumed run
  // passes to Trainer::restore.
  virtual void checkpoint(int64_t steps_done, bool final) {}
  // After a TrainingProbe scored the model (which may have switched it to evaluation mode).
  virtual void after_probe() {}

  // Data parallelism. What the prepared batch's loss divides by, one entry per term of it (its
  // target tokens, its labelled ads, ...), as prepare() counted them on this rank. With several
  // ranks the trainer sums each entry over the ranks and passes the sums to use_global_counts()
  // before the first shard_loss, which then divides by them: the ranks' losses add up to the
  // whole step's. A task with none (the default) has a loss that is a mean over its draws; the
  // trainer then weights each rank's gradient by its share of the step's draws.
  virtual std::vector<double> loss_counts() const { return {}; }
  virtual void use_global_counts(const std::vector<double>& global) {}
  // This rank's part of the draws: a task with per-step data of its own beyond the draws (extra
  // ads, say) splits it alike (shard_range(n, ranks, rank)).
  RankPart rank_part() const { return part_; }
  // The step's reported figures (training losses) as this rank's share of the whole step's: a
  // loss divided by the global counts is one already, a mean over this rank's draws times
  // rank_part().share is one. With several ranks the trainer sums them over the ranks after the
  // step and passes the totals to use_step_totals() before after_step(), so that every rank
  // reports the whole step's figures.
  virtual std::vector<double> step_shares() const { return {}; }
  virtual void use_step_totals(const std::vector<double>& totals) {}

 private:
  friend class Trainer;
  RankPart part_;
};

class Trainer {
 public:
  // `shuffle_seed` derives every epoch's order. The meter holds the limits that stop the loop.
  Trainer(TrainerOptions options, BudgetMeter& meter, uint64_t shuffle_seed);

  // Continues a run from its recorded state(): its step, the schedule's fit, the last learning
  // rate, and the samples and device seconds it spent (added to the meter). A run resumed from
  // its final checkpoint whose budget is spent does nothing (run() returns at once: the task has
  // its final results); one given more budget trains on.
  void restore(const nlohmann::json& state);
  nlohmann::json state() const;

  // Trains until the meter is exhausted (starting its clock if it is not running, stopping it at
  // the end), then calls task.checkpoint(step, true). Throws Interrupted at a step boundary once
  // SIGINT / SIGTERM arrived.
  void run(TrainTask& task, const std::vector<at::Tensor>& params, torch::optim::Optimizer& opt);

  int64_t step() const { return step_; }
  bool stopped_by_probe() const { return stopped_by_probe_; }
  double last_lr() const { return last_lr_; }            // < 0 before the first step
  nlohmann::json schedule() const { return schedule_; }  // ScheduleFit::to_json of the run

  // The learning rate of `step` under `options` with the cosine's horizon `horizon` and the last
  // learning rate `previous` (< 0: none), as run() applies it.
  static double lr_at(const TrainerOptions& options, int64_t step, int64_t horizon,
                      double previous);

 private:
  TrainerOptions options_;
  BudgetMeter& meter_;
  uint64_t shuffle_seed_;
  int64_t step_ = 0;
  double last_lr_ = -1;
  nlohmann::json schedule_;  // the fit recorded by a run (restored on resume)
  bool finished_ = false;    // the final checkpoint was taken
  bool stopped_by_probe_ = false;
};

// The seeded order of n items (Fisher-Yates on Rng(seed)): every epoch's order in the trainer,
// and any seeded subset (the first k of it).
std::vector<size_t> seeded_permutation(size_t n, uint64_t seed);

}  // namespace caig
