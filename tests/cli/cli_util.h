// Helpers of the `caig` executable's tests: run it, collect its output, scratch directories.
#pragma once

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/test_util.h"

namespace caig_cli_test {

namespace fs = std::filesystem;

struct Result {
  int status;
  std::string output;  // stdout and stderr
};

// `env_prefix` goes before the binary (e.g. "env -u OMP_NUM_THREADS").
inline Result run_caig(const std::string& args, const std::string& env_prefix = "") {
  const std::string cmd = env_prefix + " " + CAIG_BINARY + " --quiet " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WEXITSTATUS(status), out};
}

// The results without what measures time or memory (device seconds, wall seconds, peak memory),
// which no two runs share.
inline nlohmann::json strip_measured(const nlohmann::json& j) {
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : j) out.push_back(strip_measured(v));
    return out;
  }
  if (!j.is_object()) return j;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : j.items()) {
    if (k.find("seconds") != std::string::npos || k.find("peak_memory") != std::string::npos)
      continue;
    out[k] = strip_measured(v);
  }
  return out;
}

inline fs::path scratch(const std::string& name) {
  const fs::path p = caig::testing::process_temp_dir() / name;
  fs::remove_all(p);
  fs::create_directories(p.parent_path());
  return p;
}

// Starts `caig <args>` in the background with its output in `log`; returns its pid.
inline pid_t start_caig(const std::string& args, const fs::path& log) {
  const std::string cmd =
      std::string("exec ") + CAIG_BINARY + " --quiet " + args + " > " + log.string() + " 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits until `path` exists (true) or `pid` has exited (false).
inline bool wait_for_file(const fs::path& path, pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return fs::exists(path);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline const std::string kPaper = std::string(CAIG_SOURCE_DIR) + "/experiments/paper.toml";

}  // namespace caig_cli_test
