// A run directory that appears only when complete: everything is written into a staging directory
// that is renamed onto the final path by commit(). A crash leaves "<dir>.partial-PID" (or, after an
// exception, "<dir>.failed"), never something that looks like a finished run.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

class RunDir {
 public:
  // `overwrite`: replace an existing run at `final_dir` (only once the new one is complete).
  RunDir(std::filesystem::path final_dir, bool overwrite);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  // Where files go while the run is in progress (the final path after commit()).
  const std::filesystem::path& path() const { return current_; }
  const std::filesystem::path& final_path() const { return final_; }
  std::filesystem::path file(const std::string& relative) const { return current_ / relative; }

  void write_json(const std::string& relative, const nlohmann::json& j) const;
  void write_jsonl(const std::string& relative, const std::vector<nlohmann::json>& rows) const;
  void write_text(const std::string& relative, const std::string& text) const;

  void commit();
  bool committed() const { return committed_; }

 private:
  std::filesystem::path final_;
  std::filesystem::path staging_;
  std::filesystem::path current_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace caig
