// Helpers of the `caig` executable's tests: run it, collect its output, scratch directories.
#pragma once

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <sys/wait.h>

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

inline fs::path scratch(const std::string& name) {
  const fs::path p = caig::testing::process_temp_dir() / name;
  fs::remove_all(p);
  fs::create_directories(p.parent_path());
  return p;
}

inline const std::string kPaper = std::string(CAIG_SOURCE_DIR) + "/experiments/paper.toml";

}  // namespace caig_cli_test
