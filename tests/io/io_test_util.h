// Small helpers for the dataset I/O tests: a self-removing temp dir, file writers, error capture.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "harness/error.h"
#include "harness/files.h"

namespace caig::data::testing {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / fmt::format("caig_io_test_{}_{}", ::getpid(), counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

inline void write_text(const fs::path& p, const std::string& text) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// The loaders only check that images exist, so an empty file stands in for a PNG.
inline void touch(const fs::path& p) { write_text(p, ""); }

// The message of the caig::Error thrown by `f`, or "" (and a test failure) if none was thrown.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const caig::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected caig::Error, got another exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an error, none was thrown";
  return "";
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

#define EXPECT_CONTAINS(text, part)                            \
  EXPECT_TRUE(::caig::data::testing::contains((text), (part))) \
      << "'" << (text) << "' lacks '" << (part) << "'"

}  // namespace caig::data::testing
