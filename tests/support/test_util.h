// Small helpers shared by the test folders (header-only, so tests/support builds no executable).
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>

#include "harness/error.h"

namespace caig::testing {

// Writes `text` to a file in the temp directory whose name is unique to this process.
inline std::filesystem::path write_temp_file(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("caig_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

// The message of the caig::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const caig::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace caig::testing
