#include "harness/distributed.h"

#include <chrono>
#include <mutex>

#include <torch/torch.h>

// c10d's backends are compiled in only where their headers are: Gloo's ship with Debian's
// libgloo-dev and inside PyPI's torch wheel; NCCL's need a CUDA LibTorch and nccl.h.
#if __has_include(<gloo/context.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define CAIG_HAS_GLOO 1
#endif
#if defined(CAIG_WITH_CUDA) && __has_include(<nccl.h>) && \
    __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>)
#define CAIG_C10D_NCCL 1
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "harness/error.h"

namespace caig::dist {

namespace {

#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

c10d::ReduceOp to_c10d(Reduce op) {
  switch (op) {
    case Reduce::Sum:
      return c10d::ReduceOp::SUM;
    case Reduce::Min:
      return c10d::ReduceOp::MIN;
    case Reduce::Max:
      return c10d::ReduceOp::MAX;
  }
  return c10d::ReduceOp::SUM;
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

class C10dGroup : public Group {
 public:
  C10dGroup(const Env& env, const std::string& device) : env_(env), timeout_(timeout_of(env)) {
    const bool cuda = device.rfind("cuda", 0) == 0;
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(env.master_port);
      so.isServer = env.rank == 0;
      so.numWorkers = static_cast<size_t>(env.world_size);
      so.waitWorkers = true;
      so.timeout = timeout_;
      store_ = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
      if (cuda) {
#if defined(CAIG_C10D_NCCL)
        auto o = c10d::ProcessGroupNCCL::Options::create();
        o->timeout = timeout_;
        backend_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, env.rank, env.world_size, o);
        on_cpu_ = false;
        device_ = torch::Device(device);
#endif
      }
      if (!backend_) {
#if defined(CAIG_HAS_GLOO)
        auto o = c10d::ProcessGroupGloo::Options::create(timeout_);
        // Loopback jobs bind loopback; others the interface GLOO_SOCKET_IFNAME names, else the
        // address this machine's hostname resolves to.
        const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
        o->devices.push_back(iface ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                             : is_loopback(env.master_addr)
                                 ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                 : c10d::ProcessGroupGloo::createDefaultDevice());
        o->threads = 2;
        backend_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world_size, o);
        on_cpu_ = true;
#else
        fail("distributed: this build has no Gloo backend (install libgloo-dev and rebuild)");
#endif
      }
    } catch (const caig::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("distributed: rank {} of {} could not join the job at {}:{} within {:.0f} s: {}",
           env.rank, env.world_size, env.master_addr, env.master_port, env.timeout_seconds,
           e.what());
    }
  }

  int rank() const override { return env_.rank; }
  int size() const override { return env_.world_size; }

  void all_reduce(std::vector<at::Tensor>& tensors, Reduce op, const std::string& what) override {
    run_collective("all_reduce", what, tensors, [&](std::vector<at::Tensor>& one) {
      c10d::AllreduceOptions o;
      o.reduceOp = to_c10d(op);
      o.timeout = timeout_;
      return backend_->allreduce(one, o);
    });
  }

  void broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what) override {
    run_collective("broadcast", what, tensors, [&](std::vector<at::Tensor>& one) {
      c10d::BroadcastOptions o;
      o.rootRank = root;
      o.timeout = timeout_;
      return backend_->broadcast(one, o);
    });
  }

  std::vector<std::string> exchange(const std::string& key, const std::string& value) override {
    std::vector<std::string> out;
    try {
      store_->set("caig/" + key + "/" + std::to_string(env_.rank),
                  std::vector<uint8_t>(value.begin(), value.end()));
      for (int r = 0; r < env_.world_size; ++r) {
        const auto v = store_->get("caig/" + key + "/" + std::to_string(r));
        out.emplace_back(v.begin(), v.end());
      }
    } catch (const std::exception& e) {
      fail("distributed: rank {} did not hear from every rank about '{}' within {:.0f} s: {}",
           env_.rank, key, env_.timeout_seconds, e.what());
    }
    return out;
  }

 private:
  static std::chrono::milliseconds timeout_of(const Env& env) {
    return std::chrono::milliseconds(static_cast<int64_t>(env.timeout_seconds * 1000));
  }

  template <typename Launch>
  void run_collective(const char* op, const std::string& what, std::vector<at::Tensor>& tensors,
                      Launch launch) {
    // Gloo reduces host memory: a CUDA tensor without NCCL goes through a host copy; NCCL device
    // memory: the trainer's small CPU tensors (counts, clocks) go through this rank's GPU.
    std::vector<at::Tensor> staged;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    try {
      for (auto& t : tensors) {
        std::vector<at::Tensor> one{on_cpu_ && !t.is_cpu()   ? t.cpu()
                                    : !on_cpu_ && t.is_cpu() ? t.to(device_)
                                                             : t};
        if (!one.front().is_contiguous())
          fail("distributed: {} of {}: a non-contiguous tensor", op, what);
        staged.push_back(one.front());
        works.push_back(launch(one));
      }
      for (auto& w : works) w->wait(timeout_);
    } catch (const caig::Error&) {
      throw;
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (const auto nl = msg.find("\nException raised from"); nl != std::string::npos)
        msg.resize(nl);
      fail(
          "distributed: {} of {} failed on rank {} of {} (another rank died, or did not reach it "
          "within {:.0f} s): {}",
          op, what, env_.rank, env_.world_size, env_.timeout_seconds, msg);
    }
    for (size_t i = 0; i < tensors.size(); ++i)
      if (!tensors[i].is_same(staged[i])) tensors[i].copy_(staged[i]);
  }

  Env env_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Backend> backend_;
  bool on_cpu_ = true;
  torch::Device device_ = torch::kCPU;  // NCCL's
};

std::unique_ptr<Group>& the_group() {
  static std::unique_ptr<Group> g;
  return g;
}

}  // namespace

std::unique_ptr<Group> make_group(const Env& env, const std::string& device) {
  return std::make_unique<C10dGroup>(env, device);
}

void start(const Env& env, const std::string& device, const std::string& command,
           const nlohmann::json& config) {
  if (!env.distributed() || the_group()) return;
  the_group() = make_group(env, device);
  const auto all = the_group()->exchange("config/" + command, config.dump());
  for (int r = 0; r < env.world_size; ++r) {
    if (all[static_cast<size_t>(r)] == all.front()) continue;
    const auto diff = first_difference(nlohmann::json::parse(all.front()),
                                       nlohmann::json::parse(all[static_cast<size_t>(r)]));
    fail(
        "distributed: rank {} runs `caig {}` with another configuration than rank 0 (first "
        "difference, rank 0 vs rank {}: {}); every rank must run the same command with the same "
        "configuration",
        r, command, r, diff);
  }
}

std::string join_job(const std::string& command, const nlohmann::json& config,
                     const std::string& device) {
  const Env& env = process_env();
  const std::string mine =
      env.distributed() && device == "cuda" ? fmt::format("cuda:{}", env.local_rank) : device;
  start(env, mine, command, config);
  return mine;
}

Group* group() { return the_group().get(); }

}  // namespace caig::dist
