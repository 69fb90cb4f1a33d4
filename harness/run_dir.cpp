#include "harness/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig {

bool is_run_dir(const fs::path& dir) { return fs::exists(dir / "run.json"); }

RunDir::RunDir(fs::path path) : path_(std::move(path)) {
  if (path_.empty()) fail("run directory path is empty");
  if (fs::exists(path_) && !fs::is_directory(path_))
    fail("run directory {} exists and is not a directory", path_.string());
  if (fs::exists(path_) && !is_run_dir(path_) && !fs::is_empty(path_))
    fail("{} exists and is not a run directory (no run.json); choose another --out",
         path_.string());
  fs::create_directories(path_);
  const fs::path lock = path_ / ".lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) fail("cannot open {}: {}", lock.string(), std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    fail("run directory {} is in use by another caig process", path_.string());
  }
  if (!is_run_dir(path_))
    write_json_atomic(path_ / "run.json", {{"format", "caig-run"}, {"version", 1}});
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the lock
}

void RunDir::write_json(const std::string& relative, const nlohmann::json& j) const {
  write_json_atomic(file(relative), j);
}
void RunDir::write_jsonl(const std::string& relative,
                         const std::vector<nlohmann::json>& rows) const {
  write_jsonl_atomic(file(relative), rows);
}
void RunDir::write_text(const std::string& relative, const std::string& text) const {
  write_file_atomic(file(relative), text);
}

}  // namespace caig
