// The reward-model interface shared by CAIG's RM (methods/reward), the baselines (baselines/) and
// the external adaptors (rewards/external_rm.cpp, rewards/torchscript_rm.cpp).
//
// A reward model answers a pairwise question, P(left ad gets more clicks), and where it can a
// point-wise CTR. What it may see of an ad is AdInfo plus pixels: never counts, CTRs or the
// background description. Only the oracle reads the hidden true CTR, from AdSet::true_ctr.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace caig {

class BudgetMeter;
class TrainingProbe;

// The product fields of one ad (empty title and attributes in text-free datasets).
struct AdInfo {
  std::string product_id;
  std::string category;
  std::string title;
  nlohmann::json attributes = nlohmann::json::object();
  std::filesystem::path image_path;  // absolute, for models that read files (external)
};

// Ads to score, with their decoded images.
struct AdSet {
  std::vector<AdInfo> ads;
  at::Tensor images;     // [N, 3, H, W] uint8 RGB, row i is ads[i]
  bool has_text = true;  // false for `public` / CreativeRanking-like data
  std::vector<double>
      true_ctr;  // hidden truth (simulated data), read only by the oracle; may be empty
  // The true background slots of each ad (simulated data; hidden truth, read only by the
  // privileged reference `slots_lr`); may be empty.
  std::vector<nlohmann::json> true_slots;
  int64_t size() const { return static_cast<int64_t>(ads.size()); }
};

// Two ads of one AdSet; "left" is the left slot of the question.
struct PairIndex {
  int64_t left = 0;
  int64_t right = 0;
};

// What trainable models learn from: the ads of the training products with their logged counts,
// the pairs CAIG's rule built from them, and each product's ads (for list-wise losses). Every
// trainable model of one table gets the same TrainingSet.
struct TrainingSet {
  AdSet ads;
  std::vector<int64_t> impressions;  // per ad
  std::vector<int64_t> clicks;       // per ad
  std::vector<PairIndex> pairs;
  std::vector<int> labels;  // per pair: 0 left has the higher observed CTR, 1 right
  std::vector<std::vector<int64_t>> products;  // ad indices of each product (>= 1 each)
};

// Everything a model's train() may use. The meter holds the identical limits of the table; a
// model stops when meter.exhausted() and counts every ad it passes through as a sample.
struct TrainContext {
  const TrainingSet& train;
  BudgetMeter& meter;
  std::string device = "cpu";
  uint64_t seed = 0;
  // The pretrained backbone checkpoint of the run (empty when the run has none).
  std::filesystem::path pretrained_checkpoint;
  // Evaluations during training (learning curves, early stopping), passed to the Trainer as
  // TrainerOptions::probe; null: none. A model that trains otherwise ignores it.
  TrainingProbe* probe = nullptr;
};

class RewardModel {
 public:
  virtual ~RewardModel() = default;

  virtual bool trainable() const { return false; }
  // Trains within ctx.meter's limits. Called at most once, before any scoring.
  virtual void train(TrainContext& ctx) {}
  // True when train() starts from the run's pretrained backbone (TrainContext's checkpoint), so
  // a stage that trains it must read the pretrain stage's checkpoint.
  virtual bool needs_pretrained_backbone() const { return false; }
  // True when it reads the simulator's hidden truth (AdSet::true_ctr, true_slots: the oracle, the
  // privileged slots_lr): it cannot run on real data.
  virtual bool needs_true_ctr() const { return false; }
  // Files outside the run its results depend on (a checkpoint or scripted module named in its
  // config): a stage's hash covers their contents.
  virtual std::vector<std::filesystem::path> external_files() const { return {}; }

  // A trained model saves what it needs to score (weights, fitted vocabularies and statistics,
  // tokenizer) into the directory `dir` (which exists), and a model created from the same config
  // loads it instead of training; the loaded model's probabilities are bit-identical to the
  // saved one's on the same device. rewards/saved_model.h adds the name and config around it.
  virtual bool savable() const { return false; }
  virtual void save(const std::filesystem::path& dir) const;
  virtual void load(const std::filesystem::path& dir, const std::string& device);

  // P(ads[left] gets more clicks than ads[right]) for each pair, in [0, 1]. Must not depend on
  // how the caller batches the pairs.
  virtual std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) = 0;

  virtual bool has_ctr() const { return false; }
  // Point-wise CTR of every ad; only when has_ctr().
  virtual std::vector<double> ctr(const AdSet& ads);

  // Facts for the results (parameter count, input construction, ...).
  virtual nlohmann::json info() const { return nlohmann::json::object(); }
};

}  // namespace caig
