// The reward-model benchmark behind the paper's pairwise-accuracy table (the `reward_accuracy`
// stage) and `caig eval-rm`: for every dataset variant and reward model, train with identical data
// and budget for each seed, score the evaluation pairs in both orders, and summarise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"
#include "harness/budget.h"

namespace caig::rewards {

struct BenchmarkOptions {
  std::vector<std::string> variants{"commercial", "public"};  // public: the same data without text
  std::vector<std::string> models;
  int seeds = 3;
  std::string train_split = "train";
  std::string eval_split = "test";
  bool both_orders = true;
  int bootstrap = 1000;
  int64_t image_size = 64;
  BudgetLimits limits;  // identical for every trainable model; at least one limit must be set
  std::string device = "cpu";
  std::filesystem::path pretrained_checkpoint;  // for models initialised from the backbone

  static nlohmann::json defaults();  // the stage's config keys (variants, models, seeds, ...)
  // Reads the stage keys from `stage` and image size, budget and device from the experiment.
  static BenchmarkOptions from_config(const nlohmann::json& stage, const nlohmann::json& experiment,
                                      const std::string& device);
};

struct BenchmarkResult {
  nlohmann::json metrics;               // see README, "reward_accuracy metrics"
  nlohmann::json budget;                // "<variant>/<model>" -> spent budget summed over seeds
  std::vector<nlohmann::json> records;  // one row per (variant, model, seed, pair)
};

// `experiment` supplies the models' configs ([reward_models.<name>], checked against their
// defaults) and the backbone options. seed: the run seed; seed s of a model is derived from it,
// the same for every model.
BenchmarkResult run_reward_benchmark(const data::Dataset& dataset, const BenchmarkOptions& options,
                                     const nlohmann::json& experiment, uint64_t seed);

// Every [reward_models.<name>] entry of the experiment names a registered model and checks
// against its defaults (an Error naming the key otherwise).
void check_reward_model_configs(const nlohmann::json& experiment, const std::string& source);

}  // namespace caig::rewards
