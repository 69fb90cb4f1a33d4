// A ShopWorld dataset directory on disk, and the options shared by every dataset loader.
//
// Layout (all paths in records are relative to the directory):
//   dataset.json    {"format": "shopworld", "version": 1, "has_text", "source_format",
//                    "products", "creatives", "pairs"}; optional for hand-made directories
//   manifest.jsonl  one CreativeRecord per line (see records.h for the fields)
//   pairs.jsonl     one PairRecord per line: product_id, left, right, label
//   world.json      every ShopWorld parameter and the seed; optional (null for real data)
//   images/, products/  PNG ad images and product cut-outs
#pragma once

#include <cstdint>
#include <filesystem>

#include "datasets/io/pair_rule.h"
#include "datasets/io/records.h"

namespace caig::data {

struct LoadOptions {
  bool lenient = false;        // skip and report bad records instead of failing on the first one
  bool check_images = true;    // every referenced image must exist
  PairRule rule;               // used where pairs are built (real formats, or rebuild_pairs)
  bool rebuild_pairs = false;  // ShopWorld: ignore pairs.jsonl and rebuild with `rule`
  uint64_t seed = 0;           // left/right placement of rebuilt pairs
};

inline constexpr const char* kShopWorldFormat = "shopworld";
inline constexpr int kShopWorldVersion = 1;

// Writes a dataset directory as a whole or not at all. Images go into staging() first (the
// simulator renders them there); commit() adds the JSON files and renames staging onto the
// target. Destroying the writer without commit() removes the staging directory.
class DatasetDirWriter {
 public:
  // Fails at once if `dir` exists and is not an empty directory, unless `overwrite`; the old
  // directory is then replaced only after the new one is complete.
  explicit DatasetDirWriter(std::filesystem::path dir, bool overwrite = false);
  ~DatasetDirWriter();
  DatasetDirWriter(const DatasetDirWriter&) = delete;
  DatasetDirWriter& operator=(const DatasetDirWriter&) = delete;

  const std::filesystem::path& staging() const { return staging_; }  // "<dir>.tmp-<pid>-<n>"
  const std::filesystem::path& target() const { return dir_; }
  void commit(const Dataset& d);  // at most once
  bool committed() const { return committed_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path staging_;
  bool overwrite_ = false;
  bool committed_ = false;
};

// Writes only the JSON files (no images), atomically as above.
void write_dataset_dir(const Dataset& d, const std::filesystem::path& dir, bool overwrite = false);

// Reads a directory written by DatasetDirWriter (or by hand in the same layout). Strict loading
// fails on the first bad record with file and line; lenient loading skips it into d.report.
Dataset load_dataset_dir(const std::filesystem::path& dir, const LoadOptions& opt = {});

}  // namespace caig::data
