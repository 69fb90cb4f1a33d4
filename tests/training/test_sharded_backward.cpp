// sharded_backward: the shards' gradients add up to the whole batch's, in shard order and onto a
// gradient already there; the shards run on threads of their own with the caller's grad mode;
// errors name the shard; thread settings come back as they were.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "harness/blas_kernels.h"
#include "harness/sharded_backward.h"

namespace caig {
namespace {

// A two-layer model in double, so that the sharded and whole-batch gradients agree to ~1e-15.
struct Model {
  Model() {
    torch::manual_seed(5);
    w1 = torch::randn({6, 4}, torch::kDouble).requires_grad_();
    b1 = torch::randn({6}, torch::kDouble).requires_grad_();
    w2 = torch::randn({1, 6}, torch::kDouble).requires_grad_();
    unused = torch::randn({3}, torch::kDouble).requires_grad_();
    x = torch::randn({10, 4}, torch::kDouble);
    y = torch::randn({10, 1}, torch::kDouble);
  }
  // Mean squared error of rows [lo, hi), divided by the whole batch's row count.
  torch::Tensor loss(int64_t lo, int64_t hi) const {
    const auto h = torch::tanh(torch::nn::functional::linear(x.slice(0, lo, hi), w1, b1));
    return (torch::nn::functional::linear(h, w2) - y.slice(0, lo, hi)).pow(2).sum() /
           static_cast<double>(x.size(0));
  }
  std::vector<torch::Tensor> params() const { return {w1, b1, w2, unused}; }
  torch::Tensor w1, b1, w2, unused, x, y;
};

std::vector<torch::Tensor> whole_batch_gradients(const Model& m) {
  return torch::autograd::grad({m.loss(0, m.x.size(0))}, {m.w1, m.b1, m.w2});
}

TEST(ShardRange, SplitsIntoContiguousPartsTheFirstOnesLarger) {
  EXPECT_EQ(shard_range(10, 3, 0), std::make_pair(int64_t{0}, int64_t{4}));
  EXPECT_EQ(shard_range(10, 3, 1), std::make_pair(int64_t{4}, int64_t{7}));
  EXPECT_EQ(shard_range(10, 3, 2), std::make_pair(int64_t{7}, int64_t{10}));
  EXPECT_EQ(shard_range(32, 2, 1), std::make_pair(int64_t{16}, int64_t{32}));
  EXPECT_EQ(shard_range(1, 2, 1), std::make_pair(int64_t{1}, int64_t{1}));  // empty
  EXPECT_EQ(shard_range(0, 1, 0), std::make_pair(int64_t{0}, int64_t{0}));
  EXPECT_THROW(shard_range(10, 0, 0), std::invalid_argument);
  EXPECT_THROW(shard_range(10, 3, 3), std::invalid_argument);
  EXPECT_THROW(shard_range(-1, 2, 0), std::invalid_argument);
}

TEST(ShardedBackward, GradientsAddUpToTheWholeBatchs) {
  for (int64_t shards : {1, 2, 3, 10}) {
    const Model m;
    const auto want = whole_batch_gradients(m);
    sharded_backward(
        shards,
        [&](int64_t i) {
          const auto [lo, hi] = shard_range(m.x.size(0), shards, i);
          return m.loss(lo, hi);
        },
        m.params());
    EXPECT_TRUE(torch::allclose(m.w1.grad(), want[0], 1e-12, 1e-14)) << shards << " shards";
    EXPECT_TRUE(torch::allclose(m.b1.grad(), want[1], 1e-12, 1e-14)) << shards << " shards";
    EXPECT_TRUE(torch::allclose(m.w2.grad(), want[2], 1e-12, 1e-14)) << shards << " shards";
    EXPECT_FALSE(m.unused.grad().defined()) << "a parameter no shard reaches keeps no gradient";
    EXPECT_TRUE(m.w1.grad().is_contiguous());
  }
}

TEST(ShardedBackward, AddsInShardOrderOntoAGradientAlreadyThere) {
  // Shard i's loss is c_i * p (gradient c_i), on a gradient of 1 already there: the result is
  // 1 + (c_0 + c_1 + c_2), the shards' sum added first. In float, 1 + (1e8 - 1e8 + 1) = 2 while
  // (1 + 1e8) - 1e8 + 1 would be 1.
  auto p = torch::zeros({1}).requires_grad_();
  p.mutable_grad() = torch::ones({1});
  const float c[] = {1e8f, -1e8f, 1.0f};
  sharded_backward(3, [&](int64_t i) { return (p * c[i]).sum(); }, {p});
  EXPECT_EQ(p.grad().item<float>(), 2.0f);
}

TEST(ShardedBackward, TheProcessThreadSettingsDoNotChangeTheBits) {
  // Float and a batch large enough for multi-row GEMMs: the split decides the arithmetic, not the
  // intra-op or BLAS thread counts the caller runs with.
  auto run = [] {
    torch::manual_seed(9);
    auto w = torch::randn({64, 96}).requires_grad_();
    const auto x = torch::randn({256, 96});
    sharded_backward(2,
                     [&](int64_t i) {
                       const auto [lo, hi] = shard_range(x.size(0), 2, i);
                       return torch::relu(torch::mm(x.slice(0, lo, hi), w.t())).pow(2).sum() /
                              256.0;
                     },
                     {w});
    return w.grad().clone();
  };
  const int intra_op = at::get_num_threads(), blas = openblas_threads();
  at::set_num_threads(1);
  set_openblas_threads(1);
  const auto one = run();
  at::set_num_threads(2);
  set_openblas_threads(2);
  const auto two = run();
  EXPECT_TRUE(torch::equal(one, two));
  EXPECT_TRUE(torch::equal(run(), two));
  at::set_num_threads(intra_op);
  set_openblas_threads(blas);
}

TEST(ShardedBackward, ALoneShardsGradientIsNotSharedBetweenParameters) {
  // The backward of a + b hands one gradient to both; with only shard 0 reaching them, each
  // parameter must still get a gradient of its own.
  auto a = torch::zeros({3}).requires_grad_(), b = torch::zeros({3}).requires_grad_();
  auto c = torch::zeros({1}).requires_grad_();
  // (The weights make the gradient reaching the add a contiguous tensor of its own.)
  const auto weights = torch::arange(3, torch::kFloat);
  sharded_backward(2, [&](int64_t i) { return i == 0 ? ((a + b) * weights).sum() : c.sum(); },
                   {a, b, c});
  ASSERT_TRUE(a.grad().defined() && b.grad().defined());
  EXPECT_NE(a.grad().data_ptr(), b.grad().data_ptr());
  a.mutable_grad().add_(1.0);
  EXPECT_TRUE(torch::equal(b.grad(), weights));
}

TEST(ShardedBackward, ShardsRunOnThreadsOfTheirOwnWithTheCallersGradModeAndOneThreadEach) {
  const int intra_op = at::get_num_threads();
  at::set_num_threads(2);  // what new threads start with; the shards must still get one
  const Model m;
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> grad_mode_on{0}, single_threaded{0}, blas_single{0};
  const bool openblas = openblas_threads() > 0;
  // Under no-grad on the caller, every shard is under no-grad too (and its loss then reaches no
  // parameter).
  {
    torch::NoGradGuard no_grad;
    std::atomic<int> grad_mode_off{0};
    EXPECT_THROW(sharded_backward(
                     3,
                     [&](int64_t i) {
                       grad_mode_off += torch::GradMode::is_enabled() ? 0 : 1;
                       const auto [lo, hi] = shard_range(m.x.size(0), 3, i);
                       return m.loss(lo, hi);
                     },
                     m.params()),
                 std::invalid_argument);
    EXPECT_EQ(grad_mode_off.load(), 3);
  }
  sharded_backward(
      3,
      [&](int64_t i) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ids.insert(std::this_thread::get_id());
        }
        grad_mode_on += torch::GradMode::is_enabled() ? 1 : 0;
        single_threaded += at::get_num_threads() == 1 ? 1 : 0;
        blas_single += !openblas || openblas_threads() == 1 ? 1 : 0;
        const auto [lo, hi] = shard_range(m.x.size(0), 3, i);
        return m.loss(lo, hi);
      },
      m.params());
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 1u) << "shard 0 runs on the caller";
  EXPECT_EQ(grad_mode_on.load(), 3);
  EXPECT_EQ(single_threaded.load(), 3);
  EXPECT_EQ(blas_single.load(), 3);
  at::set_num_threads(intra_op);
}

TEST(ShardedBackward, RestoresTheThreadSettings) {
  const int intra_op = at::get_num_threads(), blas = openblas_threads();
  at::set_num_threads(2);
  set_openblas_threads(2);  // a no-op without OpenBLAS
  const Model m;
  sharded_backward(
      2,
      [&](int64_t i) {
        const auto [lo, hi] = shard_range(m.x.size(0), 2, i);
        return m.loss(lo, hi);
      },
      m.params());
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(openblas_threads(), blas > 0 ? 2 : 0);
  at::set_num_threads(intra_op);
  set_openblas_threads(blas);
}

TEST(ShardedBackward, ErrorsNameTheShardAndLeaveTheGradientsAlone) {
  const Model m;
  auto shard_then = [&](int64_t bad, std::function<torch::Tensor()> what) {
    return [&m, bad, what](int64_t i) {
      if (i == bad) return what();
      const auto [lo, hi] = shard_range(m.x.size(0), 2, i);
      return m.loss(lo, hi);
    };
  };
  try {
    sharded_backward(2,
                     shard_then(1, []() -> torch::Tensor { throw std::runtime_error("no data"); }),
                     m.params());
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "no data");
  }
  EXPECT_FALSE(m.w1.grad().defined());
  try {
    sharded_backward(2, shard_then(1, [] { return torch::ones({2}); }), m.params());
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("shard 1's loss is not a scalar"), std::string::npos);
  }
  try {
    sharded_backward(2, shard_then(0, [] { return torch::ones({}); }), m.params());
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("shard 0's loss does not depend on any parameter"),
              std::string::npos);
  }
  EXPECT_FALSE(m.w1.grad().defined());
  EXPECT_THROW(sharded_backward(0, shard_then(0, [] { return torch::ones({}); }), m.params()),
               std::invalid_argument);
  EXPECT_THROW(
      sharded_backward(2, shard_then(0, [] { return torch::ones({}); }), {torch::ones({2})}),
      std::invalid_argument);
  // A shard may not shard again (it would wait for the workers waiting for it).
  EXPECT_THROW(sharded_backward(
                   2,
                   [&](int64_t) {
                     sharded_backward(
                         2, [&](int64_t) { return m.loss(0, 1); }, m.params());
                     return m.loss(0, 1);
                   },
                   m.params()),
               std::logic_error);
  EXPECT_FALSE(m.w1.grad().defined());
  // The workers are still there for the next call.
  const auto want = whole_batch_gradients(m);
  sharded_backward(2, shard_then(-1, [] { return torch::Tensor(); }), m.params());
  EXPECT_TRUE(torch::allclose(m.w1.grad(), want[0], 1e-12, 1e-14));
}

}  // namespace
}  // namespace caig
