#include "harness/run_dir.h"

#include <system_error>
#include <unistd.h>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig {

RunDir::RunDir(fs::path final_dir, bool overwrite)
    : final_(std::move(final_dir)), overwrite_(overwrite) {
  if (final_.empty()) fail("run directory path is empty");
  if (fs::exists(final_) && !overwrite_)
    fail("run directory {} already exists (pass --force to replace it)", final_.string());
  staging_ = final_.string() + fmt::format(".partial-{}", ::getpid());
  fs::remove_all(staging_);
  fs::create_directories(staging_);
  current_ = staging_;
}

RunDir::~RunDir() {
  if (committed_) return;
  // Keep what a failed run produced for debugging, under a name that cannot pass for a result.
  std::error_code ec;
  const fs::path failed = final_.string() + ".failed";
  fs::remove_all(failed, ec);
  fs::rename(staging_, failed, ec);
}

void RunDir::write_json(const std::string& relative, const nlohmann::json& j) const {
  write_json_atomic(file(relative), j);
}
void RunDir::write_jsonl(const std::string& relative, const std::vector<nlohmann::json>& rows) const {
  write_jsonl_atomic(file(relative), rows);
}
void RunDir::write_text(const std::string& relative, const std::string& text) const {
  write_file_atomic(file(relative), text);
}

void RunDir::commit() {
  if (committed_) return;
  std::error_code ec;
  fs::path old;
  if (fs::exists(final_)) {
    if (!overwrite_) fail("run directory {} appeared while running", final_.string());
    old = final_.string() + fmt::format(".old-{}", ::getpid());
    fs::rename(final_, old, ec);
    if (ec) fail("cannot move old run {} aside: {}", final_.string(), ec.message());
  }
  fs::rename(staging_, final_, ec);
  if (ec) fail("cannot move finished run into {}: {}", final_.string(), ec.message());
  if (!old.empty()) fs::remove_all(old, ec);
  current_ = final_;
  committed_ = true;
}

}  // namespace caig
