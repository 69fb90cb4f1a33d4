#include "baselines/point_scorer.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/error.h"
#include "harness/fused_adamw.h"
#include "harness/progress.h"
#include "harness/seeds.h"
#include "rewards/ad_set.h"
#include "rewards/image_features.h"
#include "rewards/losses.h"

namespace caig::baselines {

nlohmann::json PointScorerOptions::defaults(const std::string& objective) {
  PointScorerOptions o;
  o.objective = objective;
  nlohmann::json j = {{"objective", o.objective},
                      {"batch_size", o.batch_size},
                      {"eval_batch_size", o.eval_batch_size},
                      {"lr", o.lr},
                      {"weight_decay", o.weight_decay},
                      {"temperature", o.temperature}};
  if (objective == "listwise") {
    j["list_size"] = o.list_size;
    j["list_weight"] = o.list_weight;
    j["point_weight"] = o.point_weight;
    j["ctr_scale"] = o.ctr_scale;
    j["list_temperature"] = o.list_temperature;
  }
  return j;
}

PointScorerOptions PointScorerOptions::from_json(const nlohmann::json& j) {
  PointScorerOptions o;
  o.objective = j.at("objective").get<std::string>();
  if (o.objective != "listwise" && o.objective != "binomial")
    fail("objective '{}' is not one of: listwise, binomial", o.objective);
  o.batch_size = j.at("batch_size").get<int64_t>();
  o.eval_batch_size = j.at("eval_batch_size").get<int64_t>();
  o.lr = j.at("lr").get<double>();
  o.weight_decay = j.at("weight_decay").get<double>();
  o.temperature = j.at("temperature").get<double>();
  if (o.objective == "listwise") {
    o.list_size = j.at("list_size").get<int64_t>();
    o.list_weight = j.at("list_weight").get<double>();
    o.point_weight = j.at("point_weight").get<double>();
    o.ctr_scale = j.at("ctr_scale").get<double>();
    o.list_temperature = j.at("list_temperature").get<double>();
    if (o.list_size < 2) fail("list_size must be at least 2, got {}", o.list_size);
  }
  if (o.batch_size < 1 || o.eval_batch_size < 1) fail("batch sizes must be positive");
  if (o.temperature <= 0) fail("temperature must be positive, got {}", o.temperature);
  return o;
}

void FieldInputs::fit(const AdSet& train) {
  fields_.fit(train);
  std::vector<int64_t> all(static_cast<size_t>(train.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  cached_ = &train;
  features_ = rewards::image_features_of(train);
  ids_ = fields_.encode(train, all);
  bags_ = fields_.title_bag(train, all);
}

void FieldInputs::release() {
  cached_ = nullptr;
  features_ = ids_ = bags_ = at::Tensor();
}

at::Tensor FieldInputs::image_features(const AdSet& ads, const std::vector<int64_t>& index,
                                       const std::string& device) const {
  if (&ads == cached_)
    return features_.index_select(0, torch::tensor(index, torch::kLong)).to(torch::Device(device));
  return rewards::image_features(rewards::float_images(ads.images, index, device));
}

at::Tensor FieldInputs::field_ids(const AdSet& ads, const std::vector<int64_t>& index,
                                  const std::string& device) const {
  if (&ads == cached_)
    return ids_.index_select(0, torch::tensor(index, torch::kLong)).to(torch::Device(device));
  return fields_.encode(ads, index).to(torch::Device(device));
}

at::Tensor FieldInputs::title_bags(const AdSet& ads, const std::vector<int64_t>& index,
                                   const std::string& device) const {
  if (&ads == cached_)
    return bags_.index_select(0, torch::tensor(index, torch::kLong)).to(torch::Device(device));
  return fields_.title_bag(ads, index).to(torch::Device(device));
}

int64_t parameter_count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

at::Tensor PointScorerModel::score_rows(const AdSet& ads, const std::vector<int64_t>& index,
                                        bool training) {
  module().train(training);
  return scores(ads, index);
}

void PointScorerModel::train(TrainContext& ctx) {
  const TrainingSet& t = ctx.train;
  device_ = ctx.device;
  torch::manual_seed(derive_seed(ctx.seed, "init"));
  build(t, device_);
  built_ = true;
  module().to(torch::Device(device_));
  FusedAdamW opt(module().parameters(),
                 torch::optim::AdamWOptions(options_.lr).weight_decay(options_.weight_decay));
  Rng rng(derive_seed(ctx.seed, "batches"));
  const auto smoothed =
      rewards::smoothed_ctr(torch::tensor(t.clicks), torch::tensor(t.impressions));
  const auto smoothed_a = smoothed.accessor<float, 1>();

  std::vector<size_t> listable;  // products with at least two ads
  for (size_t p = 0; p < t.products.size(); ++p)
    if (t.products[p].size() >= 2) listable.push_back(p);
  const bool listwise = options_.objective == "listwise";
  if (listwise && listable.empty()) fail("no product has two ads to make a list from");

  Progress progress("training", 0);
  torch::Tensor last_loss;
  int64_t steps = 0;
  while (!ctx.meter.exhausted()) {
    torch::Tensor loss;
    int64_t seen = 0;
    if (listwise) {
      const int64_t b = options_.batch_size, l = options_.list_size;
      std::vector<int64_t> rows;
      auto ctr = torch::zeros({b, l});
      auto mask = torch::zeros({b, l}, torch::kBool);
      for (int64_t i = 0; i < b; ++i) {
        auto ads = t.products[listable[static_cast<size_t>(
            rng.uniform_index(static_cast<int64_t>(listable.size())))]];
        // A partial Fisher-Yates draw of min(l, n) distinct ads of the product.
        const auto take = std::min<int64_t>(l, static_cast<int64_t>(ads.size()));
        for (int64_t k = 0; k < take; ++k) {
          const auto j = k + rng.uniform_index(static_cast<int64_t>(ads.size()) - k);
          std::swap(ads[static_cast<size_t>(k)], ads[static_cast<size_t>(j)]);
        }
        for (int64_t k = 0; k < l; ++k) {
          const int64_t ad =
              ads[static_cast<size_t>(std::min(k, take - 1))];  // padding repeats, masked
          rows.push_back(ad);
          ctr[i][k] = smoothed_a[ad];
          mask[i][k] = k < take;
        }
        seen += take;
      }
      const auto s = score_rows(t.ads, rows, true).view({b, l});
      ctr = ctr.to(s.device());
      mask = mask.to(s.device());
      loss = options_.list_weight *
                 rewards::listwise_softmax_loss(s, ctr, mask, options_.list_temperature) +
             options_.point_weight * rewards::masked_mse(s, ctr * options_.ctr_scale, mask);
    } else {
      std::vector<int64_t> rows;
      for (int64_t i = 0; i < options_.batch_size; ++i)
        rows.push_back(rng.uniform_index(t.ads.size()));
      std::vector<int64_t> clk, imp;
      for (auto r : rows) {
        clk.push_back(t.clicks[static_cast<size_t>(r)]);
        imp.push_back(t.impressions[static_cast<size_t>(r)]);
      }
      const auto s = score_rows(t.ads, rows, true);
      loss = rewards::binomial_nll(s, torch::tensor(clk).to(s.device()),
                                   torch::tensor(imp).to(s.device()));
      seen = options_.batch_size;
    }
    release_gradients(module().parameters());
    loss.backward();
    opt.step();
    ctx.meter.add_samples(seen);
    ctx.meter.add_steps();
    ++steps;
    last_loss = loss.detach();
    if (steps % 20 == 0) progress.set(steps);
  }
  progress.finish();
  end_training();
  training_ = {{"steps", steps},
               {"last_loss", last_loss.defined() ? last_loss.item<double>() : 0.0},
               {"parameters", parameter_count(module())}};
}

std::vector<double> PointScorerModel::scores_of(const AdSet& ads,
                                                const std::vector<int64_t>& rows) {
  if (!built_) fail("the model has not been trained (train() builds it)");
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  out.reserve(rows.size());
  const auto n = static_cast<int64_t>(rows.size());
  for (int64_t start = 0; start < n; start += options_.eval_batch_size) {
    const std::vector<int64_t> chunk(rows.begin() + start,
                                     rows.begin() + std::min(n, start + options_.eval_batch_size));
    const auto s = score_rows(ads, chunk, false).to(torch::kCPU).to(torch::kDouble).contiguous();
    out.insert(out.end(), s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  }
  return out;
}

std::vector<double> PointScorerModel::prob_left(const AdSet& ads,
                                                const std::vector<PairIndex>& pairs) {
  // Each ad is scored on its own, once, whichever pairs it appears in.
  std::vector<int64_t> rows;
  for (const auto& pr : pairs) {
    rows.push_back(pr.left);
    rows.push_back(pr.right);
  }
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  const auto s = scores_of(ads, rows);
  auto score = [&](int64_t ad) {
    return s[static_cast<size_t>(std::lower_bound(rows.begin(), rows.end(), ad) - rows.begin())];
  };
  std::vector<double> p;
  p.reserve(pairs.size());
  for (const auto& pr : pairs)
    p.push_back(1.0 / (1.0 + std::exp(-(score(pr.left) - score(pr.right)) / options_.temperature)));
  return p;
}

std::vector<double> PointScorerModel::ctr(const AdSet& ads) {
  std::vector<int64_t> rows(static_cast<size_t>(ads.size()));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  auto s = scores_of(ads, rows);
  for (auto& v : s)
    v = options_.objective == "binomial" ? 1.0 / (1.0 + std::exp(-v))
                                         : std::clamp(v / options_.ctr_scale, 0.0, 1.0);
  return s;
}

nlohmann::json PointScorerModel::info() const {
  nlohmann::json j = training_;
  j["objective"] = options_.objective;
  return j;
}

}  // namespace caig::baselines
