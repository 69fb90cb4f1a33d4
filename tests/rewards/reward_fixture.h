// A small ShopWorld written to a temporary directory (images on disk, like `caig world`), shared
// by the reward-model tests, and a tiny experiment config for the models that read one.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <unistd.h>

#include "datasets/io/shopworld_dir.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/progress.h"
#include "tests/support/test_util.h"

namespace caig::testing {

inline const data::Dataset& tiny_world_on_disk() {
  static data::Dataset d = [] {
    set_default_progress_mode(ProgressMode::Quiet);
    world::WorldConfig cfg;
    cfg.products = 120;
    cfg.image_size = 32;
    const auto dir = process_temp_dir() / "rewards_world";
    std::filesystem::remove_all(dir);
    data::DatasetDirWriter writer(dir, true);
    world::ShopWorld w(cfg, 11);
    data::Dataset out = w.generate_history({writer.staging(), 1});
    writer.commit(out);
    return data::load_dataset_dir(dir);
  }();
  return d;
}

// A tiny backbone for 32 px ads (composites 32 x 64 at patch 16), and a budget.
inline nlohmann::json tiny_experiment() {
  return {{"backbone",
           {{"image_size", 32},
            {"patch", 16},
            {"d_model", 32},
            {"heads", 2},
            {"vision_layers", 1},
            {"lm_layers", 1},
            {"mlp_ratio", 2},
            {"max_text_len", 48},
            {"max_grid_h", 2},
            {"max_grid_w", 4},
            {"dropout", 0.0},
            {"use_sdpa", true},
            {"image_prefix_bidirectional", true},
            {"tie_embeddings", true}}},
          {"world", {{"image_size", 32}}},
          {"budget", {{"max_samples", 0}, {"max_steps", 3}, {"max_device_seconds", 0.0}}}};
}

}  // namespace caig::testing
