// Loader for the JSON used by CG4CTR and CAIG:
//   {"<item_id>": [{"creative_id": 1, "creative_image_hash": "ab12", "exp_impression_cnt": 3000,
//                   "exp_click_cnt": 90, ...}, ...], ...}
// Other keys in a creative are ignored. There is no text.
#pragma once

#include <filesystem>

#include "datasets/io/shopworld_dir.h"

namespace caig::data {

inline constexpr const char* kCg4ctrFormat = "cg4ctr_json";

// The image of a creative is <images_dir>/<creative_image_hash> with the first existing extension
// among "", ".jpg", ".jpeg", ".png", ".webp". Items keep file order; pairs are built with opt.rule
// and opt.seed. Errors name the file and the item / creative ("f.json: item \"7\" creative #2: ").
Dataset load_cg4ctr_json(const std::filesystem::path& json_path,
                         const std::filesystem::path& images_dir, const LoadOptions& opt = {});

}  // namespace caig::data
