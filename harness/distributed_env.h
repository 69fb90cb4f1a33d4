// Where this process stands in a data-parallel job: the torchrun-style environment variables
// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK) that `caig launch`, torchrun or a
// cluster scheduler sets, read and checked in one place. Torch-free: the launcher and the tests
// of the parsing need no LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace caig::dist {

struct Env {
  int rank = 0;                           // RANK: this process, 0..world_size-1
  int world_size = 1;                     // WORLD_SIZE
  int local_rank = 0;                     // LOCAL_RANK: this process on its machine (its GPU)
  std::string master_addr = "127.0.0.1";  // MASTER_ADDR: where rank 0's store listens
  int master_port = 29500;                // MASTER_PORT
  // CAIG_DIST_TIMEOUT (seconds): how long a collective or the rendezvous waits for the other
  // ranks before this one gives up with an error (a rank that died closes its connections at
  // once; this bounds a rank that hangs).
  double timeout_seconds = 300;
  bool distributed() const { return world_size > 1; }
  nlohmann::json to_json() const;
};

// Reads the variables through `get` (std::getenv when empty). WORLD_SIZE unset or 1: a single
// process (the other variables are not needed). Otherwise every variable must be set and
// consistent; an Error names the variable and the value.
Env env_from(const std::function<const char*(const char*)>& get = {});

// The process's environment, read once.
const Env& process_env();

// A TCP port of this machine that was free a moment ago (bound on loopback to port 0, then
// closed): the launcher's MASTER_PORT for a one-machine job, and the tests'.
int free_local_port();

// Where rank `rank` writes a job's outputs given the directory the command was asked to write:
// rank 0 the directory itself (the job's results), rank r > 0 its own replica under
// <dir>/ranks/<r> (checkpoints it resumes from; nothing a report reads).
std::filesystem::path rank_output_dir(const std::filesystem::path& dir, int rank);
// The same beside the directory, as <dir>.rank<r>, for outputs that are replaced whole (a
// checkpoint directory is swapped in atomically, which would take a replica inside with it).
std::filesystem::path rank_sibling_dir(const std::filesystem::path& dir, int rank);

// The first place at which two configurations differ, as "key.path: A vs B" ("" when equal):
// what the error of a rank started with another configuration names.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace caig::dist
