// Small helpers shared by the test folders (header-only, so tests/support builds no executable).
#pragma once

#include <stdlib.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>

#include "harness/error.h"

namespace caig::testing {

// The source tree and the `caig` binary the tests use: the build's own paths, or
// CAIG_TEST_SOURCE_DIR / CAIG_TEST_BINARY where the built tests run from a copy (another
// machine, such as a GPU machine given the binaries and a copy of the tree).
inline const char* path_or_override(const char* variable, const char* built) {
  const char* v = ::getenv(variable);
  return v != nullptr && *v != '\0' ? v : built;
}
#define CAIG_SOURCE_DIR \
  ::caig::testing::path_or_override("CAIG_TEST_SOURCE_DIR", CAIG_BUILT_SOURCE_DIR)
#define CAIG_BINARY ::caig::testing::path_or_override("CAIG_TEST_BINARY", CAIG_BUILT_BINARY)

// A directory in the temp directory for this test process's files, removed with everything in it
// when the process exits, so that test runs leave nothing behind.
inline const std::filesystem::path& process_temp_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {  // mkdtemp: a fresh directory even where processes share /tmp and their pids
      std::string name = (std::filesystem::temp_directory_path() / "caig_test_XXXXXX").string();
      if (::mkdtemp(name.data()) == nullptr)
        throw std::runtime_error("cannot create a temporary directory from " + name);
      path = name;
    }
    ~Dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Dir dir;
  return dir.path;
}

// Writes `text` to a file named `name` in process_temp_dir().
inline std::filesystem::path write_temp_file(const std::string& name, const std::string& text) {
  const auto p = process_temp_dir() / name;
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
