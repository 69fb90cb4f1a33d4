// A trained reward model on disk, as the reward_accuracy stage keeps it and `caig eval-rm --load`
// and the optimisation stage's judge read it back:
//   reward_model.json   {"format": "caig-reward-model", "version", "model": registered name,
//                        "config": its resolved config, "info": RewardModel::info(),
//                        "trained_on": what it was trained on (variant, seed, split)}
//   ...                 whatever RewardModel::save writes (weights, vocabularies, tokenizer)
// written into a temporary sibling and renamed into place, so a reader sees all of it or none.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "rewards/reward_model.h"

namespace caig::rewards {

void save_reward_model(const RewardModel& model, const std::string& name,
                       const nlohmann::json& config, const nlohmann::json& trained_on,
                       const std::filesystem::path& dir);

struct LoadedRewardModel {
  std::string name;
  nlohmann::json config;
  nlohmann::json info;
  nlohmann::json trained_on;
  std::unique_ptr<RewardModel> model;
};

// Creates the model from its recorded name and config and loads its files, on `device`. Errors
// name the directory and what is missing, unknown or corrupt.
LoadedRewardModel load_reward_model(const std::filesystem::path& dir, const std::string& device);

// reward_model.json alone (the model is not built), for what a caller checks first.
LoadedRewardModel read_reward_model_record(const std::filesystem::path& dir);

}  // namespace caig::rewards
