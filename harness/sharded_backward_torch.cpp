#include "harness/sharded_backward.h"

#include <dlfcn.h>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <torch/torch.h>

#include "harness/blas_kernels.h"

namespace caig {

namespace {

// The calling thread's own arithmetic threads. Under OpenMP (LibTorch's CPU builds) LibTorch's
// intra-op count is the thread's OpenMP setting, changed here through OpenMP itself:
// at::set_num_threads would also rebuild LibTorch's pthreadpool on every call (measured: 4% of a
// training step). Where LibTorch uses MKL, MKL's thread-local count is set too. Both are looked up
// at run time (they are loaded with LibTorch, not linked to this program), and the result is
// checked through LibTorch: if the OpenMP found is not LibTorch's, at::set_num_threads it is.
// MKL's C entry only from an MKL library of its own: PyPI's LibTorch 2.x links MKL statically and
// exports a symbol of that name that is not the C interface (called with an int it crashes).
int (*shared_mkl_set_local())(int) {
  void* f = dlsym(RTLD_DEFAULT, "mkl_set_num_threads_local");
  Dl_info info{};
  if (f == nullptr || dladdr(f, &info) == 0 || info.dli_fname == nullptr) return nullptr;
  const std::string file = info.dli_fname;
  if (file.substr(file.find_last_of('/') + 1).find("mkl") == std::string::npos) return nullptr;
  return reinterpret_cast<int (*)(int)>(f);
}

struct ThreadingRuntime {
  ThreadingRuntime()
      : omp_set(reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))),
        mkl_set_local(shared_mkl_set_local()) {}
  void (*omp_set)(int);
  int (*mkl_set_local)(int);  // returns the previous thread-local count (0: MKL's global one)
};
const ThreadingRuntime& threading_runtime() {
  static const ThreadingRuntime r;
  return r;
}

struct ThreadArithmetic {
  int intra_op = 1;
  int mkl_local = -1;  // < 0: not set
};

void set_intra_op_here(int n) {
  if (AT_PARALLEL_OPENMP && threading_runtime().omp_set != nullptr) threading_runtime().omp_set(n);
  if (at::get_num_threads() != n) at::set_num_threads(n);
}

// Sets the calling thread to one intra-op thread (and one MKL thread); returns what it had.
ThreadArithmetic single_thread_here() {
  at::internal::lazy_init_num_threads();  // after this, ATen leaves the thread's setting alone
  ThreadArithmetic saved;
  saved.intra_op = at::get_num_threads();
  if (saved.intra_op != 1) set_intra_op_here(1);
  if (threading_runtime().mkl_set_local != nullptr)
    saved.mkl_local = threading_runtime().mkl_set_local(1);
  return saved;
}

void restore_here(const ThreadArithmetic& saved) {
  if (saved.mkl_local >= 0) threading_runtime().mkl_set_local(saved.mkl_local);
  if (at::get_num_threads() != saved.intra_op) set_intra_op_here(saved.intra_op);
}

// Threads that run shards 1, 2, ... of each sharded_backward call, kept between calls: a fresh
// thread pays for LibTorch's per-thread set-up and a cold heap arena every step. Each worker runs
// with one intra-op thread for its whole life.
class ShardWorkers {
 public:
  static ShardWorkers& instance() {
    static ShardWorkers workers;
    return workers;
  }
  ~ShardWorkers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  // Runs job(i) for i in [1, shards) on the workers and job(0) on the caller; returns when all
  // have. `job` must not throw. One call at a time (sharded_backward holds its CPU-step lock).
  void run(int64_t shards, const std::function<void(int64_t)>& job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (static_cast<int64_t>(threads_.size()) < shards - 1) {
        const int64_t index = static_cast<int64_t>(threads_.size()) + 1;
        threads_.emplace_back([this, index] { loop(index); });
      }
      job_ = &job;
      active_ = shards;
      pending_ = shards - 1;
      ++generation_;
    }
    wake_.notify_all();
    job(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  ShardWorkers() = default;
  void loop(int64_t index) {
    single_thread_here();
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (index >= active_) continue;
      const auto* job = job_;
      lock.unlock();
      (*job)(index);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t active_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

// One intra-op thread on the calling thread and one OpenBLAS thread (process-wide) for the
// scope; restored in the opposite order (OpenMP builds of OpenBLAS also set the caller's OpenMP
// count when theirs is set).
struct SingleThreadedArithmetic {
  SingleThreadedArithmetic() : here(single_thread_here()), blas(openblas_threads()) {
    if (blas > 1) set_openblas_threads(1);
  }
  ~SingleThreadedArithmetic() {
    if (blas > 1) set_openblas_threads(blas);
    restore_here(here);
  }
  SingleThreadedArithmetic(const SingleThreadedArithmetic&) = delete;
  SingleThreadedArithmetic& operator=(const SingleThreadedArithmetic&) = delete;
  ThreadArithmetic here;
  int blas;
};

std::vector<torch::Tensor> shard_gradients(int64_t shard,
                                           const std::function<at::Tensor(int64_t)>& shard_loss,
                                           const std::vector<torch::Tensor>& inputs) {
  const torch::Tensor loss = shard_loss(shard);
  if (!loss.defined() || loss.numel() != 1)
    throw std::invalid_argument("sharded_backward: shard " + std::to_string(shard) +
                                "'s loss is not a scalar");
  if (!loss.requires_grad())
    throw std::invalid_argument("sharded_backward: shard " + std::to_string(shard) +
                                "'s loss does not depend on any parameter");
  return torch::autograd::grad({loss}, inputs, {}, /*retain_graph=*/false,
                               /*create_graph=*/false, /*allow_unused=*/true);
}

}  // namespace

std::pair<int64_t, int64_t> shard_range(int64_t n, int64_t shards, int64_t i) {
  if (shards < 1 || i < 0 || i >= shards || n < 0)
    throw std::invalid_argument("shard_range: shard " + std::to_string(i) + " of " +
                                std::to_string(shards) + " over " + std::to_string(n) + " items");
  const int64_t base = n / shards, extra = n % shards;
  const int64_t begin = i * base + std::min(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

void sharded_backward(int64_t shards, const std::function<at::Tensor(int64_t)>& shard_loss,
                      const std::vector<at::Tensor>& params) {
  if (shards < 1)
    throw std::invalid_argument("sharded_backward: shards must be >= 1, got " +
                                std::to_string(shards));
  if (shards == 1) {
    const torch::Tensor loss = shard_loss(0);
    loss.backward();
    return;
  }
  std::vector<torch::Tensor> inputs;
  for (const auto& p : params)
    if (p.requires_grad()) inputs.push_back(p);
  if (inputs.empty())
    throw std::invalid_argument("sharded_backward: no parameter requires a gradient");

  // A shard that starts its own sharded_backward would wait for workers that are waiting for it.
  thread_local bool in_shard = false;
  if (in_shard) throw std::logic_error("sharded_backward: called from inside a shard");
  std::vector<std::vector<torch::Tensor>> grads(static_cast<size_t>(shards));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(shards));
  auto run = [&](int64_t i) {
    in_shard = true;
    struct Leave {
      ~Leave() { in_shard = false; }
    } leave;
    try {
      grads[static_cast<size_t>(i)] = shard_gradients(i, shard_loss, inputs);
    } catch (...) {
      errors[static_cast<size_t>(i)] = std::current_exception();
    }
  };
  if (inputs.front().device().is_cpu()) {
    // The BLAS setting is process-wide: one sharded step at a time.
    static std::mutex cpu_step;
    std::lock_guard<std::mutex> one_step(cpu_step);
    SingleThreadedArithmetic single;
    // Grad mode, inference mode and the like are thread-local: the shards get the caller's.
    const at::ThreadLocalState caller_state;
    ShardWorkers::instance().run(shards, [&](int64_t i) {
      if (i == 0) return run(0);
      at::ThreadLocalStateGuard guard(caller_state);
      run(i);
    });
  } else {
    for (int64_t i = 0; i < shards; ++i) run(i);
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);

  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < inputs.size(); ++k) {
    torch::Tensor total;
    int contributions = 0;
    for (const auto& g : grads) {
      if (!g[k].defined()) continue;
      total = total.defined() ? total + g[k] : g[k];
      ++contributions;
    }
    if (contributions == 0) continue;
    auto& grad = inputs[k].mutable_grad();
    if (grad.defined())
      grad.add_(total);
    else  // a lone shard's gradient may be shared with another input's (an add hands both one)
      grad = contributions == 1 ? total.clone(at::MemoryFormat::Contiguous) : total.contiguous();
  }
}

}  // namespace caig
