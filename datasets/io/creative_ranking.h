// Loader for the CreativeRanking TSV: item_id, image_name, ds, pv, clk (one row per creative and
// day). Rows of one (item_id, image_name) are summed over days; there is no text.
#pragma once

#include <filesystem>

#include "datasets/io/shopworld_dir.h"

namespace caig::data {

inline constexpr const char* kCreativeRankingFormat = "creative_ranking";

// creative_id = image_name, product_id = item_id, image = image_name relative to `images_dir`
// (the dataset root). Pairs are built with opt.rule and opt.seed. Errors name "file:line".
Dataset load_creative_ranking(const std::filesystem::path& tsv_path,
                              const std::filesystem::path& images_dir, const LoadOptions& opt = {});

}  // namespace caig::data
