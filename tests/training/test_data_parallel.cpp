// Data parallelism in the shared trainer, with two ranks as two threads of this process joined by
// c10d on loopback (TCPStore + Gloo): the same weights as one process on the same global batch,
// gradients summed in buckets, and ranks that disagree stopped at the start. (A rank killed
// mid-run and the launcher are tested on the `caig` binary, in tests/cli.)
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/data_parallel.h"
#include "harness/distributed.h"
#include "harness/error.h"
#include "harness/trainer.h"

namespace caig {
namespace {

// Runs body(group) on two ranks (threads), each with its own group; returns each rank's error
// ("" when it finished).
std::vector<std::string> on_two_ranks(const std::function<void(dist::Group&)>& body) {
  const int port = caig::dist::free_local_port();
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      try {
        dist::Env env;
        env.rank = r;
        env.world_size = 2;
        env.master_addr = "127.0.0.1";
        env.master_port = port;
        env.timeout_seconds = 30;
        auto g = dist::make_group(env, "cpu");
        body(*g);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

// Linear regression y = W x + b on a fixed epoch of 24 examples with 3 inputs and 2 outputs.
// `targets_per_example` > 0: example i has (i % 3) + 1 target rows, and the loss is the sum of
// their squared errors over the step's target count (a count-normalised loss, like a language
// model's mean over target tokens); 0: a mean over the draws.
class RegressionTask : public TrainTask {
 public:
  explicit RegressionTask(bool counted, uint64_t init_seed) : counted_(counted) {
    // No random numbers: the ranks' threads would share LibTorch's global generator.
    const auto s = static_cast<double>(init_seed);
    w = (torch::arange(6, torch::kFloat).view({2, 3}) * s).sin().requires_grad_();
    b = (torch::arange(2, torch::kFloat) * s).cos().requires_grad_();
    xs_ = (torch::arange(72, torch::kFloat).view({24, 3}) * 0.37).sin() * 2;
    ys_ = xs_.matmul(torch::tensor({{1.0f, -2.0f, 0.5f}, {0.3f, 0.0f, 1.5f}}).t()) + 0.1f;
  }
  torch::Tensor w, b;
  std::vector<double> global_counts;

  int64_t epoch_size() const override { return 24; }
  int64_t prepare(int64_t, const std::vector<Draw>& draws, int64_t) override {
    std::vector<int64_t> rows;
    for (const auto& d : draws) {
      const int64_t repeats = counted_ ? d.example % 3 + 1 : 1;
      for (int64_t k = 0; k < repeats; ++k) rows.push_back(d.example);
    }
    idx_ = torch::tensor(rows);
    count_ = static_cast<double>(rows.size());
    divisor_ = count_;
    draws_ = static_cast<int64_t>(draws.size());
    return draws_;
  }
  std::vector<double> loss_counts() const override {
    if (!counted_) return {};
    return {count_};
  }
  void use_global_counts(const std::vector<double>& global) override {
    global_counts = global;
    divisor_ = global.at(0);
  }
  at::Tensor shard_loss(int64_t) override {
    const auto x = xs_.index_select(0, idx_), y = ys_.index_select(0, idx_);
    const auto err = (x.matmul(w.t()) + b - y).pow(2).sum(1);
    return counted_ ? err.sum() / divisor_ : err.mean();
  }

 private:
  bool counted_;
  torch::Tensor xs_, ys_, idx_;
  double count_ = 0, divisor_ = 1;
  int64_t draws_ = 0;
};

struct Trained {
  torch::Tensor w, b;
  int64_t samples = 0, steps = 0;
};

Trained train(RegressionTask& task, dist::Group* group, int64_t batch = 8) {
  TrainerOptions o;
  o.batch_size = batch;
  o.lr = 0.05;
  o.group = group;
  BudgetLimits l;
  l.max_steps = 7;  // not a whole number of epochs: the last step's draws straddle two epochs
  BudgetMeter meter(l, "cpu");
  Trainer trainer(o, meter, 11);
  torch::optim::Adam adam({task.w, task.b}, torch::optim::AdamOptions(0.05));
  trainer.run(task, {task.w, task.b}, adam);
  return {task.w.detach().clone(), task.b.detach().clone(), meter.samples(), meter.steps()};
}

void expect_same_training(bool counted) {
  RegressionTask single(counted, 3);
  const Trained one = train(single, nullptr);
  std::vector<Trained> ranks(2);
  std::vector<std::vector<double>> counts(2);
  const auto errors = on_two_ranks([&](dist::Group& g) {
    // Rank 1 starts from other weights: the trainer broadcasts rank 0's.
    RegressionTask task(counted, g.rank() == 0 ? 3 : 99);
    ranks[static_cast<size_t>(g.rank())] = train(task, &g);
    counts[static_cast<size_t>(g.rank())] = task.global_counts;
  });
  ASSERT_EQ(errors, (std::vector<std::string>{"", ""}));
  for (const auto& r : ranks) {
    // The same global batch: summation order differs from one process (each rank sums its part,
    // then the parts are added), so equal within float rounding over seven Adam steps.
    EXPECT_TRUE(torch::allclose(r.w, one.w, 1e-5, 1e-6)) << r.w << one.w;
    EXPECT_TRUE(torch::allclose(r.b, one.b, 1e-5, 1e-6)) << r.b << one.b;
    // The budget counts every rank's samples: the whole batch per step.
    EXPECT_EQ(r.samples, one.samples);
    EXPECT_EQ(r.steps, 7);
  }
  // The ranks apply the same summed gradient: their replicas are identical.
  EXPECT_TRUE(torch::equal(ranks[0].w, ranks[1].w));
  EXPECT_TRUE(torch::equal(ranks[0].b, ranks[1].b));
  if (counted) {
    // The last step's global target count, the same on both ranks (draws 48..55 of the order).
    ASSERT_EQ(counts[0].size(), 1u);
    EXPECT_EQ(counts[0], counts[1]);
    EXPECT_GE(counts[0][0], 8.0);
    EXPECT_LE(counts[0][0], 24.0);
  }
}

}  // namespace

TEST(DataParallel, TwoRanksTrainTheWeightsOfOneProcessOnTheSameGlobalBatch) {
  expect_same_training(false);
}

TEST(DataParallel, ACountNormalisedLossDividesByTheCountOverAllRanks) {
  // The ranks' parts hold different numbers of targets: dividing each by its own count would
  // weight them wrongly; the trainer sums the counts first.
  expect_same_training(true);
}

TEST(DataParallel, GradientsAreSummedInBucketsScaledAndZeroFilledWhereARankHasNone) {
  std::vector<std::vector<torch::Tensor>> out(2);
  const auto errors = on_two_ranks([&](dist::Group& g) {
    const float r = static_cast<float>(g.rank());
    std::vector<torch::Tensor> params = {torch::zeros({3}), torch::zeros({2, 2}), torch::zeros({1}),
                                         torch::zeros({5})};
    params[0].mutable_grad() = torch::full({3}, 1.0f + r);
    params[1].mutable_grad() = torch::arange(4, torch::kFloat).view({2, 2}) * (r + 1);
    if (g.rank() == 1) params[2].mutable_grad() = torch::full({1}, 7.0f);  // rank 0 has none
    // params[3]: no rank reached it; it stays without a gradient.
    // 12-byte buckets: the first gradient alone, the second alone, the third alone.
    dist::all_reduce_gradients(g, params, 0.5, "test", 12);
    out[static_cast<size_t>(g.rank())] = {params[0].grad(), params[1].grad(), params[2].grad()};
    EXPECT_FALSE(params[3].grad().defined());
  });
  ASSERT_EQ(errors, (std::vector<std::string>{"", ""}));
  for (const auto& o : out) {
    EXPECT_TRUE(torch::equal(o[0], torch::full({3}, 1.5f)));  // (1 + 2) / 2
    EXPECT_TRUE(torch::equal(o[1], torch::arange(4, torch::kFloat).view({2, 2}) * 1.5f));
    EXPECT_TRUE(torch::equal(o[2], torch::full({1}, 3.5f)));
  }
}

TEST(DataParallel, FloatingBuffersAreAveragedOverTheRanksIntegerOnesKept) {
  std::vector<std::vector<torch::Tensor>> out(2);
  const auto errors = on_two_ranks([&](dist::Group& g) {
    const float r = static_cast<float>(g.rank());
    std::vector<torch::Tensor> buffers = {torch::full({2}, 1.0f + 2 * r),
                                          torch::full({1}, int64_t{5} + g.rank(), torch::kLong)};
    dist::average_buffers(g, buffers, "test");
    out[static_cast<size_t>(g.rank())] = buffers;
  });
  ASSERT_EQ(errors, (std::vector<std::string>{"", ""}));
  for (int r = 0; r < 2; ++r) {
    const auto& o = out[static_cast<size_t>(r)];
    EXPECT_TRUE(torch::equal(o[0], torch::full({2}, 2.0f)));  // (1 + 3) / 2
    EXPECT_EQ(o[1].item<int64_t>(), 5 + r);
  }
}

TEST(DataParallel, RanksThatDisagreeOnTheTrainingAreStoppedAtTheStartNamingWhat) {
  const auto errors = on_two_ranks([&](dist::Group& g) {
    RegressionTask task(false, 3);
    train(task, &g, g.rank() == 0 ? 8 : 6);
  });
  for (const auto& e : errors) {
    EXPECT_NE(e.find("the ranks disagree on the batch size"), std::string::npos) << e;
  }
}

TEST(DataParallel, ABatchSmallerThanTheRanksIsAnError) {
  const auto errors = on_two_ranks([&](dist::Group& g) {
    RegressionTask task(false, 3);
    train(task, &g, 1);
  });
  for (const auto& e : errors)
    EXPECT_NE(e.find("batch_size (1) is smaller than the 2 ranks"), std::string::npos) << e;
}

}  // namespace caig
