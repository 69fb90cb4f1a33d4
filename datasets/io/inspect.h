// Summaries of a loaded dataset (`caig data inspect`), and format detection for any supported path.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "datasets/io/pair_rule.h"
#include "datasets/io/records.h"
#include "datasets/io/shopworld_dir.h"

namespace caig::data {

// Counts, per-product spread, impressions / clicks, stored pairs and pairs recomputed under
// `rule`, and the skipped records (count and the first 20 as "file:line: reason").
nlohmann::json inspect_dataset(const Dataset& d, const PairRule& rule);
std::string format_inspect(const nlohmann::json& summary);  // readable plain text

// A directory holding manifest.jsonl (or that file itself) -> ShopWorld; *.tsv / *.txt ->
// CreativeRanking; *.json -> CG4CTR JSON. For the real formats an empty `images_dir` means the
// folder "images" next to the file. Anything else is an Error naming the path.
// Which registered dataset source (datasets/register.h) reads `path`, by the same rules:
// "shopworld_dir", "creative_ranking" or "cg4ctr_json", with the directory or file to read and
// the image folder.
struct DatasetLocation {
  std::string source;
  std::filesystem::path path, images;
};
DatasetLocation locate_dataset(const std::filesystem::path& path,
                               const std::filesystem::path& images_dir);

Dataset load_any_dataset(const std::filesystem::path& path, const std::filesystem::path& images_dir,
                         const LoadOptions& opt = {});

}  // namespace caig::data
