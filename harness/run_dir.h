// A run directory: the resolved config and environment, one folder per stage
// (stages/<name>/, harness/stage.h), and the files assembled from them (metrics.json,
// budget.json, timing.json, report.md, tables/, figures/). It is opened under an exclusive lock,
// so two `caig run` cannot write into one directory at once.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

class RunDir {
 public:
  // Opens the run directory at `path`, creating it. An existing directory must be a run
  // directory (it holds run.json) or empty; another process holding it is an error.
  explicit RunDir(std::filesystem::path path);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& relative) const { return path_ / relative; }
  std::filesystem::path stage_dir(const std::string& stage) const {
    return path_ / "stages" / stage;
  }

  void write_json(const std::string& relative, const nlohmann::json& j) const;
  void write_jsonl(const std::string& relative, const std::vector<nlohmann::json>& rows) const;
  void write_text(const std::string& relative, const std::string& text) const;

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

// True when `dir` holds a run directory's marker (run.json).
bool is_run_dir(const std::filesystem::path& dir);

}  // namespace caig
