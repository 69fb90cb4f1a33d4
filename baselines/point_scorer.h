// Shared machinery of the baselines that score each ad on its own (VAM, CG4CTR, LR, FM, DeepFM):
// P(left better) = sigmoid((s_left - s_right) / temperature), a budgeted training loop with the
// objective the model's config names, and batch-independent scoring (eval mode, per-ad scores).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "rewards/product_fields.h"
#include "rewards/reward_model.h"

namespace torch::nn {
class Module;
}

namespace caig::baselines {

struct PointScorerOptions {
  // "listwise": VAM / CG4CTR, lists of list_size ads of one product, loss list_weight * softmax CE
  //             against softmax(1000 * c) + point_weight * MSE(score, ctr_scale * c), c smoothed
  //             CTR;
  // "binomial": classic CTR models, score is the CTR logit, binomial log-likelihood of the counts.
  std::string objective = "listwise";
  int64_t list_size = 3;
  double list_weight = 1.0;
  double point_weight = 0.5;
  double ctr_scale = 100.0;
  double list_temperature = 1000.0;
  int64_t batch_size = 32;        // lists (listwise) or ads (binomial) per step
  int64_t eval_batch_size = 256;  // ads per scoring forward pass
  double lr = 1e-3;
  double weight_decay = 1e-4;
  double temperature = 1.0;  // of the pairwise sigmoid over score differences

  // The JSON field table (harness/json_fields.h); the list-wise keys apply to "listwise" only.
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("objective", o.objective);
    f("batch_size", o.batch_size);
    f("eval_batch_size", o.eval_batch_size);
    f("lr", o.lr);
    f("weight_decay", o.weight_decay);
    f("temperature", o.temperature);
    if (o.objective != "listwise") return;
    f("list_size", o.list_size);
    f("list_weight", o.list_weight);
    f("point_weight", o.point_weight);
    f("ctr_scale", o.ctr_scale);
    f("list_temperature", o.list_temperature);
  }
  static nlohmann::json defaults(const std::string& objective);
  static PointScorerOptions from_json(const nlohmann::json& j);  // reads the keys above only
};

class PointScorerModel : public RewardModel {
 public:
  explicit PointScorerModel(PointScorerOptions options) : options_(std::move(options)) {}

  bool trainable() const override { return true; }
  void train(TrainContext& ctx) override;
  std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) override;
  bool has_ctr() const override { return true; }
  std::vector<double> ctr(const AdSet& ads) override;
  nlohmann::json info() const override;
  bool savable() const override { return built_; }
  void save(const std::filesystem::path& dir) const override;
  void load(const std::filesystem::path& dir, const std::string& device) override;

  // Scores [B] of the rows `index` of ads, on the model's device.
  at::Tensor score_rows(const AdSet& ads, const std::vector<int64_t>& index, bool training);

 protected:
  // Builds the network once the training data is known (vocabularies, feature statistics).
  virtual void build(const TrainingSet& train, const std::string& device) = 0;
  // What build() derived from the training data that the network's shape and inputs need
  // (vocabularies, feature sizes), as JSON for a saved model, and the network rebuilt from it
  // (its buffers and parameters then come from the saved weights).
  virtual nlohmann::json build_spec() const { return nlohmann::json::object(); }
  virtual void rebuild(const nlohmann::json& spec) = 0;
  virtual at::Tensor scores(const AdSet& ads, const std::vector<int64_t>& index) = 0;
  virtual torch::nn::Module& module() = 0;
  // Called when training ends (the TrainingSet goes away): drop anything cached for it.
  virtual void end_training() {}

  std::string device_ = "cpu";
  PointScorerOptions options_;

 private:
  std::vector<double> scores_of(const AdSet& ads, const std::vector<int64_t>& rows);
  nlohmann::json training_ = nlohmann::json::object();
  bool built_ = false;
};

// The product-side and fixed image inputs of the field-based baselines (CG4CTR, LR, FM, DeepFM):
// the field vocabularies fitted on the training ads, and the training ads' inputs computed once
// when training starts, so a step indexes them instead of recomputing them.
class FieldInputs {
 public:
  void fit(const AdSet& train);  // fits the vocabularies and caches the training ads' inputs
  // The fitted vocabularies (not the cache), for a saved model.
  nlohmann::json to_json() const { return fields_.to_json(); }
  void restore(const nlohmann::json& j) { fields_ = rewards::ProductFields::from_json(j); }
  void release();  // at the end of training: the training set goes away
  const rewards::ProductFields& fields() const { return fields_; }
  const at::Tensor& train_features() const { return features_; }  // between fit() and release()
  // Rows `index` of ads, on `device`: cached for the training set, computed otherwise.
  at::Tensor image_features(const AdSet& ads, const std::vector<int64_t>& index,
                            const std::string& device) const;
  at::Tensor field_ids(const AdSet& ads, const std::vector<int64_t>& index,
                       const std::string& device) const;
  at::Tensor title_bags(const AdSet& ads, const std::vector<int64_t>& index,
                        const std::string& device) const;

 private:
  rewards::ProductFields fields_;
  const AdSet* cached_ = nullptr;
  at::Tensor features_, ids_, bags_;
};

// Parameter count of a module (for info()).
int64_t parameter_count(torch::nn::Module& m);

}  // namespace caig::baselines
