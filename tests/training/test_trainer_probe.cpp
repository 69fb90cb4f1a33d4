// The trainer's evaluation hook: asked after every step, run with the meter's clock stopped, the
// task told afterwards, and a probe that says stop ends the training.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/trainer.h"

namespace caig {
namespace {

// Fits y = 2x with one weight; counts the calls the trainer makes.
class LineTask : public TrainTask {
 public:
  torch::Tensor w = torch::zeros({1}, torch::requires_grad());
  int after_probe_calls = 0;
  int64_t epoch_size() const override { return 8; }
  int64_t prepare(int64_t, const std::vector<Draw>& draws, int64_t) override {
    std::vector<float> xs;
    for (const auto& d : draws) xs.push_back(static_cast<float>(d.example + 1));
    x_ = torch::tensor(xs);
    return static_cast<int64_t>(draws.size());
  }
  at::Tensor shard_loss(int64_t) override { return (w * x_ - 2 * x_).pow(2).mean(); }
  void after_probe() override { ++after_probe_calls; }

 private:
  torch::Tensor x_;
};

// Due every `every` steps; sleeps while it runs (time the meter must not count); asks to stop at
// step `stop_at` (0: never).
class CountingProbe : public TrainingProbe {
 public:
  CountingProbe(int64_t every, int64_t stop_at) : every_(every), stop_at_(stop_at) {}
  std::vector<int64_t> ran_at;
  bool clock_running_during_run = false;
  bool due(const BudgetMeter& m) override { return m.steps() % every_ == 0; }
  bool run(const BudgetMeter& m) override {
    ran_at.push_back(m.steps());
    clock_running_during_run = clock_running_during_run || m.running();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return stop_at_ == 0 || m.steps() < stop_at_;
  }

 private:
  int64_t every_, stop_at_;
};

void train(LineTask& task, CountingProbe& probe, BudgetMeter& meter) {
  TrainerOptions o;
  o.batch_size = 4;
  o.lr = 0.01;
  o.probe = &probe;
  Trainer trainer(o, meter, 1);
  torch::optim::SGD sgd({task.w}, torch::optim::SGDOptions(0.01));
  trainer.run(task, {task.w}, sgd);
}

}  // namespace

TEST(TrainerProbe, RunsWhenDueWithTheClockStoppedAndTellsTheTask) {
  LineTask task;
  CountingProbe probe(2, 0);
  BudgetLimits l;
  l.max_steps = 10;
  BudgetMeter meter(l, "cpu");
  train(task, probe, meter);
  EXPECT_EQ(probe.ran_at, (std::vector<int64_t>{2, 4, 6, 8, 10}));
  EXPECT_FALSE(probe.clock_running_during_run);
  EXPECT_EQ(task.after_probe_calls, 5);
  // Five evaluations slept 150 ms; ten steps of one weight take far less, and none of the sleep
  // is charged.
  EXPECT_LT(meter.device_seconds(), 0.15);
  EXPECT_EQ(meter.steps(), 10);
}

TEST(TrainerProbe, AProbeThatSaysStopEndsTheTrainingAtThatStep) {
  LineTask task;
  CountingProbe probe(3, 6);
  BudgetLimits l;
  l.max_steps = 100;
  BudgetMeter meter(l, "cpu");
  TrainerOptions o;
  o.batch_size = 4;
  o.probe = &probe;
  Trainer trainer(o, meter, 1);
  torch::optim::SGD sgd({task.w}, torch::optim::SGDOptions(0.01));
  trainer.run(task, {task.w}, sgd);
  EXPECT_EQ(meter.steps(), 6);
  EXPECT_TRUE(trainer.stopped_by_probe());
  EXPECT_FALSE(meter.exhausted());
  EXPECT_EQ(probe.ran_at, (std::vector<int64_t>{3, 6}));
}

}  // namespace caig

namespace caig {

// group_lr_scale: the learning rate of parameter group g is lr * group_lr_scale[g].
TEST(Trainer, ScalesTheLearningRateOfEachParameterGroup) {
  LineTask task;
  auto frozen = torch::zeros({1}, torch::requires_grad());
  BudgetMeter meter(BudgetLimits{0, 1, 0.0}, "cpu");
  TrainerOptions o;
  o.batch_size = 4;
  o.lr = 0.01;
  o.group_lr_scale = {1.0, 0.5};
  Trainer trainer(o, meter, 1);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{task.w},
                      std::make_unique<torch::optim::SGDOptions>(0.01));
  groups.emplace_back(std::vector<torch::Tensor>{frozen},
                      std::make_unique<torch::optim::SGDOptions>(0.01));
  torch::optim::SGD sgd(std::move(groups), torch::optim::SGDOptions(0.01));
  trainer.run(task, {task.w, frozen}, sgd);
  EXPECT_DOUBLE_EQ(sgd.param_groups()[0].options().get_lr(), 0.01);
  EXPECT_DOUBLE_EQ(sgd.param_groups()[1].options().get_lr(), 0.005);
}

}  // namespace caig
