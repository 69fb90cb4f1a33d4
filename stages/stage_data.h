// The dataset a stage reads, by path: the registered dataset source (datasets/register.h) that
// the path's format picks (data::locate_dataset) loads it, so a stage reads what `caig data
// inspect` reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"

namespace caig::stages {

// `what` names the stage (or command) in errors. `images`: a real dataset's image folder (empty:
// the folder "images" beside its file).
data::Dataset load_stage_dataset(const std::filesystem::path& path,
                                 const nlohmann::json& experiment, uint64_t seed,
                                 const std::string& what, const std::filesystem::path& images = {});

}  // namespace caig::stages
