#include "harness/tensor_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <torch/torch.h>

#include "harness/content_hash.h"
#include "harness/error.h"

namespace fs = std::filesystem;

namespace caig {

namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'G', 'U', '8', 'T', '1'};

// The header: magic, the rank, then each dimension (int64, the machine's byte order).
bool read_entry(const fs::path& file, at::Tensor& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  char magic[8];
  int64_t rank = 0;
  if (!in.read(magic, 8) || std::string(magic, 8) != std::string(kMagic, 8)) return false;
  if (!in.read(reinterpret_cast<char*>(&rank), sizeof rank) || rank < 0 || rank > 8) return false;
  std::vector<int64_t> shape(static_cast<size_t>(rank));
  int64_t numel = 1;
  for (auto& d : shape) {
    if (!in.read(reinterpret_cast<char*>(&d), sizeof d) || d < 0) return false;
    numel *= d;
  }
  const auto header = static_cast<int64_t>(in.tellg());
  std::error_code ec;
  if (static_cast<int64_t>(fs::file_size(file, ec)) != header + numel || ec) return false;
  at::Tensor t = torch::empty(shape, torch::kUInt8);
  if (numel > 0 && !in.read(reinterpret_cast<char*>(t.data_ptr<uint8_t>()), numel)) return false;
  out = t;
  return true;
}

void write_entry(const fs::path& file, const at::Tensor& t) {
  fs::create_directories(file.parent_path());
  const fs::path tmp = file.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const int64_t rank = t.dim();
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&rank), sizeof rank);
    for (int64_t d : t.sizes()) out.write(reinterpret_cast<const char*>(&d), sizeof d);
    out.write(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), t.numel());
    out.flush();
    if (!out) fail("cannot write {}", tmp.string());
  }
  fs::rename(tmp, file);
}

}  // namespace

fs::path default_cache_dir() {
  if (const char* d = std::getenv("CAIG_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "caig-bench";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "caig-bench";
  return {};
}

std::string files_key(const std::vector<fs::path>& files, const std::string& extra) {
  std::string s = extra;
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec).time_since_epoch().count();
    s += '\n' + fs::absolute(f).string() + '\t' + std::to_string(ec ? 0 : size) + '\t' +
         std::to_string(ec ? 0 : mtime);
  }
  return hash_bytes(s);
}

CachedTensor cached_uint8_tensor(const fs::path& dir, const std::string& name,
                                 const std::string& key, const std::function<at::Tensor()>& build) {
  CachedTensor r;
  if (!dir.empty()) {
    r.file = dir / (name + "-" + key + ".u8");
    if (fs::exists(r.file) && read_entry(r.file, r.tensor)) {
      r.hit = true;
      return r;
    }
  }
  r.tensor = build().contiguous();
  if (r.tensor.scalar_type() != torch::kUInt8) fail("cached_uint8_tensor: {} is not uint8", name);
  if (!dir.empty()) {
    try {
      write_entry(r.file, r.tensor);
    } catch (const std::exception& e) {
      std::error_code ec;
      fs::remove(r.file.string() + ".tmp" + std::to_string(::getpid()), ec);
      std::cerr << "caig: could not store " << r.file.string() << " in the cache (" << e.what()
                << "); continuing without it\n";
      r.file.clear();
    }
  }
  return r;
}

}  // namespace caig
