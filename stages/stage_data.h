// The dataset a stage reads, by path: the registered dataset source (datasets/register.h) that
// the path's format picks (data::locate_dataset) loads it, so a stage reads what `caig data
// inspect` reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"

namespace caig {
class RewardModel;
class Renderer;
class StageContext;
}  // namespace caig

namespace caig::stages {

// `what` names the stage (or command) in errors. `images`: a real dataset's image folder (empty:
// the folder "images" beside its file).
data::Dataset load_stage_dataset(const std::filesystem::path& path,
                                 const nlohmann::json& experiment, uint64_t seed,
                                 const std::string& what, const std::filesystem::path& images = {});

// The experiment's [<kind>.<name>] table, or an empty table.
nlohmann::json experiment_section(const nlohmann::json& experiment, const std::string& kind,
                                  const std::string& name);

// A renderer plugin by name, from [renderers.<name>]; a renderer with an image size takes the
// dataset's (`image_size`) unless its table sets one.
std::unique_ptr<Renderer> make_stage_renderer(const nlohmann::json& experiment,
                                              const std::string& name, int64_t image_size,
                                              uint64_t seed);

// A judge by name: a fixed reward model as configured, or a trainable one as the reward_accuracy
// stage kept it (stage input reward_accuracy/models, `variant`, seed s where it kept all, else
// seed 0). `who` names the asker in errors (an arm, a gallery).
std::unique_ptr<RewardModel> stage_judge(StageContext& ctx, const std::string& judge,
                                         const std::string& variant, int64_t s, uint64_t seed,
                                         const std::string& who);

}  // namespace caig::stages
