#include "harness/content_hash.h"

#include <algorithm>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#define XXH_INLINE_ALL  // header-only: no library for a packed binary to carry
#include <xxhash.h>

#include "harness/error.h"

namespace fs = std::filesystem;

namespace caig {

namespace {

std::string hex(XXH128_hash_t h) { return fmt::format("{:016x}{:016x}", h.high64, h.low64); }

}  // namespace

std::string hash_bytes(const std::string& bytes) {
  return hex(XXH3_128bits(bytes.data(), bytes.size()));
}

std::string hash_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {} to hash it", path.string());
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) fail("out of memory hashing {}", path.string());
  XXH3_128bits_reset(state);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) XXH3_128bits_update(state, buf.data(), static_cast<size_t>(n));
  }
  const bool ok = in.eof();
  const auto h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  if (!ok) fail("error reading {} to hash it", path.string());
  return hex(h);
}

nlohmann::json hash_tree(const fs::path& root, const std::vector<std::string>& skip) {
  std::vector<std::string> files;
  if (fs::is_directory(root))
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      if (!it->is_regular_file(/*follows symlinks*/) || it->is_symlink()) continue;
      const std::string rel = fs::relative(it->path(), root).generic_string();
      if (std::find(skip.begin(), skip.end(), rel) == skip.end()) files.push_back(rel);
    }
  std::sort(files.begin(), files.end());
  nlohmann::json out = nlohmann::json::object();
  for (const auto& rel : files)
    out[rel] = {{"size", static_cast<int64_t>(fs::file_size(root / rel))},
                {"hash", hash_file(root / rel)}};
  return out;
}

std::vector<std::string> tree_differences(const nlohmann::json& recorded, const fs::path& root,
                                          const std::vector<std::string>& skip) {
  std::vector<std::string> out;
  const nlohmann::json now = hash_tree(root, skip);
  for (const auto& [rel, entry] : recorded.items()) {
    if (!now.contains(rel))
      out.push_back("missing " + rel);
    else if (now[rel] != entry)
      out.push_back(fmt::format("changed {} ({} bytes, recorded {})", rel,
                                now[rel]["size"].get<int64_t>(), entry["size"].get<int64_t>()));
  }
  for (const auto& [rel, entry] : now.items())
    if (!recorded.contains(rel)) out.push_back("unexpected " + rel);
  return out;
}

}  // namespace caig
