// The arms of the CTR-driven loop as the optimisation stages run them (optimise_stage.cpp, and
// optimise_map_stage.cpp over a grid of world parameters): parsing and checking an arms table,
// building an arm's plugins, running every arm and seed with results kept as they finish (an
// interrupted stage resumes at the first arm it had not finished), and the summary over seeds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"
#include "optimisation/ctr_loop.h"
#include "optimisation/loop_products.h"

namespace caig {
class StageContext;
class RewardModel;
}  // namespace caig

namespace caig::stages {

// One arm: the names of its plugins, and its optimiser's config over [optimisers.<name>].
struct ArmSpec {
  std::string name, prompt_model, optimiser, judge, renderer;
  nlohmann::json optimiser_config = nlohmann::json::object();
};

// The keys an optimisation stage has besides the loop's own (optimisation::LoopOptions).
struct ArmsOptions {
  std::string data;  // empty: the world stage's
  std::string prompt_model = "caig";
  std::string judge = "caig";
  std::string judge_variant = "";  // of a saved judge; empty: commercial, or public without text
  std::string renderer = "procedural";
  int64_t seeds = 1;
  std::string save_models = "seed0";
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("data", o.data);
    f("prompt_model", o.prompt_model);
    f("judge", o.judge);
    f("judge_variant", o.judge_variant);
    f("renderer", o.renderer);
    f("seeds", o.seeds);
    f("save_models", o.save_models);
  }
  void check(const std::string& where) const;
};

// The stage's defaults: ArmsOptions, LoopOptions and `arms`.
nlohmann::json arms_stage_defaults(const nlohmann::json& arms);

// The arms of `arms` (an array of tables), with defaults from `o`; `where` names the stage
// ("stages.optimise") in errors.
std::vector<ArmSpec> parse_arms(const nlohmann::json& arms, const ArmsOptions& o,
                                const std::string& where);

// What the arms need, checked before anything runs: unknown plugins, bad configs, an optimiser
// that trains a prompt model that cannot be trained, a pairwise optimiser with n != 2 samples.
struct ArmsNeeds {
  std::string backbone_user;  // a prompt model that starts from the run's pretrained backbone
  std::string trained_judge;  // a judge that is a trainable reward model
  std::set<std::string> external_files;
};
ArmsNeeds check_arms(const nlohmann::json& experiment, const std::vector<ArmSpec>& arms,
                     const optimisation::LoopOptions& loop);

// Everything the arms of one dataset share.
struct ArmsRun {
  ArmsRun(StageContext& c, const data::Dataset& d, const world::ShopWorld* w,
          const std::vector<optimisation::LoopProduct>& tr,
          const std::vector<optimisation::LoopProduct>& ev, const optimisation::LoopOptions& l,
          const ArmsOptions& o)
      : ctx(c), dataset(d), world(w), train(tr), eval(ev), loop(l), options(o) {}
  StageContext& ctx;
  const data::Dataset& dataset;
  const world::ShopWorld* world;
  const std::vector<optimisation::LoopProduct>& train;
  const std::vector<optimisation::LoopProduct>& eval;
  const optimisation::LoopOptions& loop;
  const ArmsOptions& options;
  double match_threshold = 0.5;
  int64_t image_size = 64;
  uint64_t seed = 0;       // seed s of an arm is derived from it
  uint64_t eval_seed = 0;  // seed 0's held-out measurement seed; seed s's is derived from it
  std::filesystem::path checkpoint;  // the pretrained backbone prompt models start from; or none
  std::filesystem::path results;     // <results>/<arm>/seed<s>.json
  std::filesystem::path models;      // <models>/<arm>/seed<s>/; empty: none kept
  std::filesystem::path scratch;     // files of judges that read images
  std::string budget_prefix;         // before "<arm>/seed<s>" in the stage's budget
  // The judge of an arm for seed index s.
  std::function<std::unique_ptr<RewardModel>(const ArmSpec&, int64_t s, uint64_t seed)> judge;
};

// Runs (or reads back) every arm and seed; spends their budgets and adds their records to
// run.ctx; returns the arms' metrics: name, plugins, per-seed rows and the summary over seeds.
nlohmann::json run_arms(const std::vector<ArmSpec>& arms, const ArmsRun& run);

// The mean over seeds with a 95% t interval of every measured value, per iteration (one seed:
// the value with its bootstrap interval where it has one).
nlohmann::json summarise_seeds(const std::vector<nlohmann::json>& per_seed_rows);

}  // namespace caig::stages
