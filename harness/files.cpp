#include "harness/files.h"

#include <atomic>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unistd.h>

#include "harness/error.h"

namespace fs = std::filesystem;

namespace caig {

void write_file_atomic(const fs::path& path, const std::string& content) {
  static std::atomic<int> counter{0};
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + fmt::format(".tmp{}-{}", ::getpid(), counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write {}", tmp.string());
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) fail("write failed for {}", tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    fail("cannot move {} into place: {}", path.string(), ec.message());
  }
}

void write_json_atomic(const fs::path& path, const nlohmann::json& j, int indent) {
  write_file_atomic(path, j.dump(indent) + "\n");
}

void write_jsonl_atomic(const fs::path& path, const std::vector<nlohmann::json>& rows) {
  std::string s;
  for (const auto& r : rows) {
    s += r.dump();
    s += '\n';
  }
  write_file_atomic(path, s);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}: {}", path.string(), fs::exists(path) ? "permission or I/O error" : "no such file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json read_json(const fs::path& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: malformed JSON at byte {}: {}", path.string(), e.byte, e.what());
  }
}

void read_jsonl(const fs::path& path, const std::function<void(const nlohmann::json&, int64_t)>& row,
                const std::function<void(int64_t, const std::string&)>& on_bad_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}: {}", path.string(), fs::exists(path) ? "permission or I/O error" : "no such file");
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      const std::string msg = fmt::format("malformed JSON line: {}", e.what());
      if (on_bad_line) {
        on_bad_line(n, msg);
        continue;
      }
      fail("{}:{}: {}", path.string(), n, msg);
    }
    row(j, n);
  }
}

fs::path resolve_inside(const fs::path& root, const std::string& relative, const std::string& where) {
  const fs::path rel(relative);
  if (relative.empty()) fail("{}: empty path", where);
  if (rel.is_absolute()) fail("{}: path '{}' must be relative to the dataset root", where, relative);
  const fs::path base = fs::weakly_canonical(root);
  const fs::path full = fs::weakly_canonical(base / rel);
  auto b = base.begin();
  auto f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *f != *b) fail("{}: path '{}' escapes the dataset root {}", where, relative, base.string());
  return full;
}

}  // namespace caig
