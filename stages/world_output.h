// Generating a ShopWorld and writing it out: dataset directory, contact sheet, calibration.
// Shared by `caig world` and the `world` stage of `caig run` (world_stage.cpp).
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"
#include "datasets/shopworld/world_config.h"

namespace caig::stages {

struct WorldOutput {
  data::Dataset dataset;
  nlohmann::json calibration;  // metrics/world_calibration
  double generation_seconds = 0;
};

// Writes the dataset (manifest.jsonl, pairs.jsonl, world.json, images/, products/) and
// contact_sheet.png into `dir` as a whole (nothing appears until it is complete).
WorldOutput write_world(const world::WorldConfig& config, uint64_t world_seed,
                        const std::filesystem::path& dir, bool overwrite, int threads);

// Plain-text calibration summary for the terminal.
std::string format_calibration(const nlohmann::json& calibration);

}  // namespace caig::stages
