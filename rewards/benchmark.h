// The reward-model benchmark behind the paper's pairwise-accuracy table (the `reward_accuracy`
// stage) and `caig eval-rm`: for every dataset variant and reward model, train with identical data
// and budget for each seed, score the evaluation pairs in both orders, and summarise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"
#include "harness/budget.h"
#include "rewards/learning_curve.h"
#include "rewards/reward_model.h"

namespace caig::rewards {

struct BenchmarkOptions {
  std::string data;    // dataset directory or file; empty: the world stage's
  std::string images;  // image folder of a real dataset; empty: "images" beside the file
  // Train / val / test fractions of the products of a dataset without splits (real data),
  // assigned in an order drawn from the run seed; a dataset with splits keeps its own.
  std::vector<double> split_fractions{0.8, 0.1, 0.1};
  std::vector<std::string> variants{"commercial", "public"};  // public: the same data without text
  std::vector<std::string> models{"caig",   "vam",   "cg4ctr", "lr",     "fm",
                                  "deepfm", "judge", "random", "oracle", "slots_lr"};
  int seeds = 3;
  std::string train_split = "train";
  std::string eval_split = "test";
  bool both_orders = true;
  int bootstrap = 1000;
  int64_t image_size = 64;
  BudgetLimits limits;  // identical for every trainable model; at least one limit must be set
  std::string device = "cpu";
  std::filesystem::path pretrained_checkpoint;  // for models initialised from the backbone
  // Which trained models are saved under save_dir/<variant>/<model>/seed<s>/: "seed0", "all"
  // or "none" (a model that cannot be saved is skipped).
  std::string save_models = "seed0";
  std::filesystem::path save_dir;  // empty: none saved
  // A saved model (rewards/saved_model.h) scored instead of training one: models must then name
  // just it, with one seed.
  std::filesystem::path load_from;
  // Learning curves and the converged row (rewards/learning_curve.h), from the same trainings:
  // evaluations on `curve_split`'s pairs at log-spaced fractions of the budget.
  CurveOptions curve;
  std::string curve_split = "val";
  // Accuracy against the number of training pairs (the paper's data scale is its claim's
  // context): on the first variant, seed 0, the table's budget, these models are trained again on
  // the pairs of a seeded share of the training products, for each fraction (the whole set is
  // the table's seed-0 row). "best": the best-scoring trainable model of the table other than the
  // ones named and the privileged ones. Empty fractions: none.
  std::vector<double> data_fractions{0.25, 0.5};
  std::vector<std::string> data_scale_models{"caig", "best"};

  // The stage's config keys, each once (harness/json_fields.h).
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("data", o.data);
    f("images", o.images);
    f("split_fractions", o.split_fractions);
    f("variants", o.variants);
    f("models", o.models);
    f("seeds", o.seeds);
    f("train_split", o.train_split);
    f("eval_split", o.eval_split);
    f("both_orders", o.both_orders);
    f("bootstrap", o.bootstrap);
    f("save_models", o.save_models);
    f("curve_points", o.curve.points);
    f("curve_split", o.curve_split);
    f("converge", o.curve.converge);
    f("patience", o.curve.patience);
    f("converged_cap", o.curve.cap);
    f("data_fractions", o.data_fractions);
    f("data_scale_models", o.data_scale_models);
  }
  static nlohmann::json defaults();
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

// The reward model `name` with the experiment's [reward_models.<name>] over its defaults.
std::unique_ptr<RewardModel> create_reward_model(const nlohmann::json& experiment,
                                                 const std::string& name, uint64_t seed);

// The image side of a dataset: its own world's when it records one, else world.image_size.
int64_t dataset_image_size(const data::Dataset& d, const nlohmann::json& experiment);

}  // namespace caig::rewards
