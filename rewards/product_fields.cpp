#include "rewards/product_fields.h"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "datasets/shopworld/grammar.h"
#include "harness/error.h"

namespace caig::rewards {

const std::vector<std::string>& ProductFields::field_names() {
  static const std::vector<std::string> names = {"category",   "colour",     "material", "audience",
                                                 "price_tier", "brand_tier", "rating"};
  return names;
}

std::string ProductFields::value(const AdInfo& ad, size_t field) {
  if (field == 0) return ad.category;
  const std::string& key = field_names()[field];
  if (!ad.attributes.is_object() || !ad.attributes.contains(key)) return "";
  const auto& v = ad.attributes.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return fmt::format("{:.1f}", std::round(v.get<double>() * 10.0) / 10.0);
  return v.dump();
}

void ProductFields::fit(const AdSet& train) {
  const size_t f = field_names().size();
  values_.assign(f, {});
  for (const auto& ad : train.ads) {
    for (size_t k = 0; k < f; ++k) {
      const std::string v = value(ad, k);
      if (!v.empty() && !values_[k].count(v))
        values_[k].emplace(v, static_cast<int64_t>(values_[k].size()) + 1);
    }
    for (const auto& w : world::split_words(ad.title))
      if (!words_.count(w)) words_.emplace(w, static_cast<int64_t>(words_.size()));
  }
  offsets_.clear();
  total_ = 0;
  for (size_t k = 0; k < f; ++k) {
    offsets_.push_back(total_);
    total_ += static_cast<int64_t>(values_[k].size()) + 1;
  }
}

nlohmann::json ProductFields::to_json() const {
  nlohmann::json values = nlohmann::json::array();
  for (const auto& field : values_) {
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [v, id] : field) m[v] = id;
    values.push_back(m);
  }
  nlohmann::json words = nlohmann::json::object();
  for (const auto& [w, id] : words_) words[w] = id;
  return {{"fields", field_names()}, {"values", values}, {"words", words}};
}

ProductFields ProductFields::from_json(const nlohmann::json& j) {
  ProductFields f;
  try {
    if (j.at("fields").get<std::vector<std::string>>() != field_names())
      fail("product fields: the saved fields ({}) are not this caig's", j.at("fields").dump());
    for (const auto& m : j.at("values")) {
      f.values_.emplace_back();
      for (const auto& [v, id] : m.items()) f.values_.back().emplace(v, id.get<int64_t>());
    }
    for (const auto& [w, id] : j.at("words").items()) f.words_.emplace(w, id.get<int64_t>());
  } catch (const nlohmann::json::exception& e) {
    fail("product fields: {}", e.what());
  }
  if (f.values_.size() != field_names().size())
    fail("product fields: {} saved fields, expected {}", f.values_.size(), field_names().size());
  for (const auto& field : f.values_) {
    f.offsets_.push_back(f.total_);
    f.total_ += static_cast<int64_t>(field.size()) + 1;
  }
  return f;
}

at::Tensor ProductFields::encode(const AdSet& ads, const std::vector<int64_t>& index) const {
  const size_t f = field_names().size();
  auto out =
      torch::empty({static_cast<int64_t>(index.size()), static_cast<int64_t>(f)}, torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (size_t i = 0; i < index.size(); ++i) {
    const AdInfo& ad = ads.ads.at(static_cast<size_t>(index[i]));
    for (size_t k = 0; k < f; ++k) {
      auto it = values_[k].find(value(ad, k));
      a[static_cast<int64_t>(i)][static_cast<int64_t>(k)] =
          offsets_[k] + (it == values_[k].end() ? 0 : it->second);
    }
  }
  return out;
}

at::Tensor ProductFields::title_bag(const AdSet& ads, const std::vector<int64_t>& index) const {
  auto out = torch::zeros({static_cast<int64_t>(index.size()), std::max<int64_t>(1, vocab_size())});
  auto a = out.accessor<float, 2>();
  for (size_t i = 0; i < index.size(); ++i)
    for (const auto& w : world::split_words(ads.ads.at(static_cast<size_t>(index[i])).title)) {
      auto it = words_.find(w);
      if (it != words_.end()) a[static_cast<int64_t>(i)][it->second] = 1.0f;
    }
  return out;
}

}  // namespace caig::rewards
