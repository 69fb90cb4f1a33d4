// A cache of uint8 tensors on disk, for work done once per input and reused by every later run
// (e.g. a real dataset's images decoded and letterboxed to a model's input size). An entry is
// one file named by what it holds and a key the caller derives from its inputs; it is written
// whole (a temporary file, then a rename), and one that cannot be read back is rebuilt.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace caig {

// $CAIG_CACHE_DIR, else $XDG_CACHE_HOME/caig-bench, else $HOME/.cache/caig-bench; empty where
// none of them is set (no cache: every call builds).
std::filesystem::path default_cache_dir();

// A key for files' contents as the file system states them: each path, its size and its
// modification time, plus `extra` (e.g. the size images are fitted to).
std::string files_key(const std::vector<std::filesystem::path>& files, const std::string& extra);

struct CachedTensor {
  at::Tensor tensor;           // contiguous uint8
  bool hit = false;            // read from the cache (false: built now)
  std::filesystem::path file;  // the entry's file; empty without a cache directory
};

// The entry `name`-`key` under `dir`, or build() when there is none (or it is unreadable), stored
// for next time. build() must return a uint8 tensor. Failing to store is a warning on stderr,
// not an error: the result is the same.
CachedTensor cached_uint8_tensor(const std::filesystem::path& dir, const std::string& name,
                                 const std::string& key, const std::function<at::Tensor()>& build);

}  // namespace caig
