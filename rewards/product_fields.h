// The product side of the classic CTR models and CG4CTR: categorical fields (category and the
// attributes) and a bag of title words, with vocabularies fitted on the training ads. A value not
// seen in training, or a missing field (text-free data), maps to its field's "unknown" id.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "rewards/reward_model.h"

namespace caig::rewards {

class ProductFields {
 public:
  // category, then the attribute keys: colour, material, audience, price_tier, brand_tier, rating
  static const std::vector<std::string>& field_names();

  void fit(const AdSet& train);
  int64_t num_fields() const { return static_cast<int64_t>(field_names().size()); }
  // Size of the one id space shared by all fields (each field has its own unknown id).
  int64_t cardinality() const { return total_; }
  // [B, num_fields] int64 ids of the rows `index` of ads.
  at::Tensor encode(const AdSet& ads, const std::vector<int64_t>& index) const;

  int64_t vocab_size() const { return static_cast<int64_t>(words_.size()); }
  // [B, vocab_size] float: 1 where the title contains the word (unknown words ignored).
  at::Tensor title_bag(const AdSet& ads, const std::vector<int64_t>& index) const;

  // The fitted vocabularies as JSON and back (a saved model scores with the same ids).
  nlohmann::json to_json() const;
  static ProductFields from_json(const nlohmann::json& j);

  // The field's value as a string ("" when missing); ratings are bucketed to one decimal.
  static std::string value(const AdInfo& ad, size_t field);

 private:
  std::vector<std::unordered_map<std::string, int64_t>>
      values_;  // per field: value -> local id >= 1
  std::vector<int64_t> offsets_;
  int64_t total_ = 0;
  std::unordered_map<std::string, int64_t> words_;
};

}  // namespace caig::rewards
