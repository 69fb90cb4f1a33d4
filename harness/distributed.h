// The process group of a data-parallel job, over PyTorch's distributed engine (c10d): a TCPStore
// at MASTER_ADDR:MASTER_PORT for the rendezvous, ProcessGroupGloo for CPU tensors and
// ProcessGroupNCCL for CUDA ones where LibTorch has it. One group per process, started by the
// commands that train (start()) and used by the shared trainer (trainer.h) to all-reduce
// gradients. A failed or timed-out collective (a rank died or hangs) is an Error naming the
// operation, what it was for and this rank.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "harness/distributed_env.h"

namespace caig::dist {

enum class Reduce { Sum, Min, Max };

class Group {
 public:
  virtual ~Group() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Reduces each tensor in place over the ranks (the tensors' collectives are queued together
  // and waited for together). `what` names the data in an error.
  virtual void all_reduce(std::vector<at::Tensor>& tensors, Reduce op, const std::string& what) = 0;
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root, const std::string& what) = 0;
  // Every rank's `value` under `key` (in rank order), through the store: for small strings.
  virtual std::vector<std::string> exchange(const std::string& key, const std::string& value) = 0;
};

// Joins the job described by `env` (a no-op when it is not distributed) for tensors on `device`
// ("cpu" or "cuda[:N]"), then checks that every rank runs the same `config` (the resolved
// configuration of `command`): a rank whose configuration differs is an Error on every rank,
// naming the rank and the first key that differs. Called once per process; a second call with
// the same environment returns at once.
void start(const Env& env, const std::string& device, const std::string& command,
           const nlohmann::json& config);

// start() with the process's environment (process_env()) for `command` and its resolved
// `config`: what every command that trains calls first. Returns the device this rank uses:
// "cuda" becomes "cuda:<LOCAL_RANK>" in a job (one GPU per rank).
std::string join_job(const std::string& command, const nlohmann::json& config,
                     const std::string& device);

// The process's group; null in a single process (or before start()).
Group* group();

// A one-process-per-rank group on loopback without the environment (tests, benchmarks).
std::unique_ptr<Group> make_group(const Env& env, const std::string& device);

}  // namespace caig::dist
