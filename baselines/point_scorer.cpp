#include "baselines/point_scorer.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/fused_adamw.h"
#include "harness/json_fields.h"
#include "harness/progress.h"
#include "harness/seeds.h"
#include "harness/trainer.h"
#include "rewards/ad_set.h"
#include "rewards/image_features.h"
#include "rewards/losses.h"

namespace caig::baselines {

nlohmann::json PointScorerOptions::defaults(const std::string& objective) {
  PointScorerOptions o;
  o.objective = objective;
  return fields_to_json(o);
}

PointScorerOptions PointScorerOptions::from_json(const nlohmann::json& j) {
  PointScorerOptions o;
  fields_from_json(o, j, "point scorer", /*other_keys=*/true);  // the model's own keys beside
  if (o.objective != "listwise" && o.objective != "binomial")
    fail("objective '{}' is not one of: listwise, binomial", o.objective);
  if (o.objective == "listwise" && o.list_size < 2)
    fail("list_size must be at least 2, got {}", o.list_size);
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

namespace {

// The trainer's view of a point scorer's data: an epoch is every listable product once
// ("listwise": a list of up to list_size of its ads, drawn by a coin that is a pure function of
// (seed, epoch, product)) or every ad once ("binomial").
struct ScorerTask : TrainTask {
  PointScorerModel& model;
  const PointScorerOptions& o;
  const TrainingSet& t;
  uint64_t lists_seed;
  std::vector<size_t> listable;                  // products with at least two ads
  torch::Tensor smoothed, step_loss, last_loss;  // step_loss: this rank's share of the step's
  std::optional<double> step_total;              // all ranks' (data parallelism)
  // The loss's terms, what each divides by on this rank, and their scales to the whole step's
  // (data parallelism: local count over the ranks' sum; 1 in one process).
  std::vector<torch::Tensor> terms;
  std::vector<double> counts, scales;

  ScorerTask(PointScorerModel& m, const PointScorerOptions& options, const TrainingSet& train,
             uint64_t seed)
      : model(m), o(options), t(train), lists_seed(seed) {
    smoothed = rewards::smoothed_ctr(torch::tensor(t.clicks), torch::tensor(t.impressions));
    for (size_t p = 0; p < t.products.size(); ++p)
      if (t.products[p].size() >= 2) listable.push_back(p);
    if (o.objective == "listwise" && listable.empty())
      fail("no product has two ads to make a list from");
  }
  int64_t epoch_size() const override {
    return o.objective == "listwise" ? static_cast<int64_t>(listable.size()) : t.ads.size();
  }
  int64_t prepare(int64_t, const std::vector<Draw>& draws, int64_t) override {
    const auto b = static_cast<int64_t>(draws.size());
    if (o.objective != "listwise") {
      std::vector<int64_t> rows, clk, imp;
      for (const auto& d : draws) {
        rows.push_back(d.example);
        clk.push_back(t.clicks[static_cast<size_t>(d.example)]);
        imp.push_back(t.impressions[static_cast<size_t>(d.example)]);
      }
      const auto s = model.score_rows(t.ads, rows, true);
      terms = {rewards::binomial_nll(s, torch::tensor(clk).to(s.device()),
                                     torch::tensor(imp).to(s.device()))};
      double impressions = 0;
      for (const auto n : imp) impressions += static_cast<double>(n);
      counts = {impressions};  // the NLL is per impression
      scales = {1.0};
      return b;
    }
    const auto smoothed_a = smoothed.accessor<float, 1>();
    const int64_t l = o.list_size;
    std::vector<int64_t> rows;
    auto ctr = torch::zeros({b, l});
    auto mask = torch::zeros({b, l}, torch::kBool);
    int64_t seen = 0;
    for (int64_t i = 0; i < b; ++i) {
      const auto& d = draws[static_cast<size_t>(i)];
      auto ads = t.products[listable[static_cast<size_t>(d.example)]];
      Rng rng(derive_seed(derive_seed(lists_seed, static_cast<uint64_t>(d.epoch)),
                          static_cast<uint64_t>(d.example)));
      // A partial Fisher-Yates draw of min(l, n) distinct ads of the product.
      const auto take = std::min<int64_t>(l, static_cast<int64_t>(ads.size()));
      for (int64_t k = 0; k < take; ++k) {
        const auto j = k + rng.uniform_index(static_cast<int64_t>(ads.size()) - k);
        std::swap(ads[static_cast<size_t>(k)], ads[static_cast<size_t>(j)]);
      }
      for (int64_t k = 0; k < l; ++k) {
        const int64_t ad = ads[static_cast<size_t>(std::min(k, take - 1))];  // padding, masked
        rows.push_back(ad);
        ctr[i][k] = smoothed_a[ad];
        mask[i][k] = k < take;
      }
      seen += take;
    }
    const auto s = model.score_rows(t.ads, rows, true).view({b, l});
    ctr = ctr.to(s.device());
    mask = mask.to(s.device());
    terms = {o.list_weight * rewards::listwise_softmax_loss(s, ctr, mask, o.list_temperature),
             o.point_weight * rewards::masked_mse(s, ctr * o.ctr_scale, mask)};
    counts = {static_cast<double>(b), static_cast<double>(seen)};  // per list; per shown ad
    scales = {1.0, 1.0};
    return seen;
  }
  std::vector<double> loss_counts() const override { return counts; }
  void use_global_counts(const std::vector<double>& global) override {
    for (size_t k = 0; k < counts.size(); ++k)
      scales[k] = global[k] > 0 ? counts[k] / global[k] : 0.0;
  }
  torch::Tensor shard_loss(int64_t) override {
    auto total = terms[0] * scales[0];
    for (size_t k = 1; k < terms.size(); ++k) total = total + terms[k] * scales[k];
    step_loss = total.detach();
    return total;
  }
  std::vector<double> step_shares() const override { return {step_loss.item<double>()}; }
  void use_step_totals(const std::vector<double>& totals) override { step_total = totals.at(0); }
  void after_step(int64_t) override {
    last_loss = step_total ? torch::tensor(*step_total) : step_loss;
    step_total.reset();
  }
};

}  // namespace

void PointScorerModel::train(TrainContext& ctx) {
  const TrainingSet& t = ctx.train;
  device_ = ctx.device;
  torch::manual_seed(derive_seed(ctx.seed, "init"));
  build(t, device_);
  built_ = true;
  module().to(torch::Device(device_));
  FusedAdamW opt(module().parameters(),
                 torch::optim::AdamWOptions(options_.lr).weight_decay(options_.weight_decay));
  TrainerOptions topt;
  topt.batch_size = options_.batch_size;
  topt.lr = options_.lr;
  topt.probe = ctx.probe;             // scores_of() sets the module's mode itself
  topt.buffers = module().buffers();  // VAM's BatchNorm statistics
  ScorerTask task(*this, options_, t, derive_seed(ctx.seed, "lists"));
  Trainer trainer(topt, ctx.meter, derive_seed(ctx.seed, "batches"));
  trainer.run(task, module().parameters(), opt);
  end_training();
  training_ = {{"steps", trainer.step()},
               {"last_loss", task.last_loss.defined() ? task.last_loss.item<double>() : 0.0},
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

void PointScorerModel::save(const std::filesystem::path& dir) const {
  if (!built_) fail("the model has not been trained; nothing to save");
  torch::serialize::OutputArchive archive;
  const_cast<PointScorerModel*>(this)->module().save(archive);
  archive.save_to((dir / "weights.pt").string());
  write_json_atomic(dir / "scorer.json", {{"spec", build_spec()}, {"training", training_}});
}

void PointScorerModel::load(const std::filesystem::path& dir, const std::string& device) {
  const auto weights = dir / "weights.pt";
  if (!std::filesystem::exists(weights)) fail("{}: no weights.pt", dir.string());
  const nlohmann::json j = read_json(dir / "scorer.json");
  device_ = device;
  rebuild(j.at("spec"));
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(weights.string(), torch::Device(device_));
    module().load(archive);
  } catch (const c10::Error& e) {
    fail("{}: cannot load the weights: {}", weights.string(), e.what_without_backtrace());
  }
  module().to(torch::Device(device_));
  training_ = j.at("training");
  built_ = true;
}

nlohmann::json PointScorerModel::info() const {
  nlohmann::json j = training_;
  j["objective"] = options_.objective;
  return j;
}

}  // namespace caig::baselines
