// Classic CTR predictors over product fields plus the fixed image embedding, trained point-wise on
// the logged counts (binomial log-likelihood): logistic regression, a factorisation machine
// (Rendle 2010) and DeepFM (Guo et al. 2017). Dense image features enter the FM as real-valued
// inputs x_j with their own factor vectors v_j.
#include <torch/torch.h>

#include "baselines/point_scorer.h"
#include "baselines/register.h"
#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "rewards/ad_set.h"
#include "rewards/image_features.h"
#include "rewards/product_fields.h"

namespace caig::baselines {

namespace nn = torch::nn;

// FM second-order term for factor vectors already scaled by their inputs, [B, n, k] -> [B]:
// 1/2 * sum_k [(sum_i v_ik x_i)^2 - sum_i (v_ik x_i)^2].
at::Tensor fm_interaction(const at::Tensor& scaled_factors) {
  const auto sum = scaled_factors.sum(1);
  return 0.5 * (sum.pow(2) - scaled_factors.pow(2).sum(1)).sum(1);
}

namespace {

enum class Kind { LR, FM, DeepFM };

struct ClassicCtrNetImpl : nn::Module {
  ClassicCtrNetImpl(Kind kind, int64_t field_ids, int64_t fields, int64_t k,
                    const std::vector<int64_t>& hidden, const at::Tensor& mean,
                    const at::Tensor& sd)
      : kind(kind) {
    const int64_t dense = rewards::image_feature_dim();
    bias = register_parameter("bias", torch::full({1}, -3.5));  // logit of a ~3% CTR
    field_weight = register_module("field_weight", nn::Embedding(field_ids, 1));
    dense_weight =
        register_module("dense_weight", nn::Linear(nn::LinearOptions(dense, 1).bias(false)));
    nn::init::zeros_(field_weight->weight);
    nn::init::zeros_(dense_weight->weight);
    if (kind != Kind::LR) {
      field_factors = register_module("field_factors", nn::Embedding(field_ids, k));
      dense_factors = register_parameter("dense_factors", torch::randn({dense, k}) * 0.01);
      nn::init::normal_(field_factors->weight, 0.0, 0.01);
    }
    if (kind == Kind::DeepFM) {
      deep = register_module("deep", nn::Sequential());
      int64_t in = (fields + dense) * k;
      for (int64_t h : hidden) {
        deep->push_back(nn::Linear(in, h));
        deep->push_back(nn::ReLU());
        in = h;
      }
      deep->push_back(nn::Linear(in, 1));
    }
    feature_mean = register_buffer("feature_mean", mean);
    feature_sd = register_buffer("feature_sd", sd);
  }

  // CTR logit [B] of image features [B, D] (rewards::image_features) and field ids [B, F].
  at::Tensor forward(const at::Tensor& features, const at::Tensor& ids) {
    const auto x = (features - feature_mean) / feature_sd;
    auto logit = bias + field_weight(ids).sum({1, 2}) + dense_weight(x).squeeze(1);
    if (kind == Kind::LR) return logit;
    const auto factors =
        torch::cat({field_factors(ids), x.unsqueeze(2) * dense_factors.unsqueeze(0)}, 1);
    logit = logit + fm_interaction(factors);
    if (kind == Kind::DeepFM) logit = logit + deep->forward(factors.flatten(1)).squeeze(1);
    return logit;
  }

  Kind kind;
  at::Tensor bias, dense_factors, feature_mean, feature_sd;
  nn::Embedding field_weight{nullptr}, field_factors{nullptr};
  nn::Linear dense_weight{nullptr};
  nn::Sequential deep{nullptr};
};
TORCH_MODULE(ClassicCtrNet);

// The keys of FM and DeepFM beside the point scorer's (harness/json_fields.h); LR has none.
struct ClassicCtrOptions {
  Kind kind = Kind::LR;
  int64_t factors = 8;                  // FM, DeepFM: factor vector size
  std::vector<int64_t> hidden{64, 32};  // DeepFM: the MLP's hidden layers
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    if (o.kind == Kind::LR) return;
    f("factors", o.factors);
    if (o.kind == Kind::DeepFM) f("hidden", o.hidden);
  }
};

class ClassicCtrModel : public PointScorerModel {
 public:
  ClassicCtrModel(Kind kind, const nlohmann::json& cfg)
      : PointScorerModel(PointScorerOptions::from_json(cfg)), kind_(kind) {
    o_.kind = kind;
    fields_from_json(o_, cfg,
                     "reward model " + std::string(kind == Kind::LR   ? "lr"
                                                   : kind == Kind::FM ? "fm"
                                                                      : "deepfm"),
                     /*other_keys=*/true);
  }

 protected:
  void build(const TrainingSet& t, const std::string&) override {
    inputs_.fit(t.ads);
    const auto& f = inputs_.train_features();
    make_net(f.mean(0), f.std(0).clamp_min(1e-3));
  }
  nlohmann::json build_spec() const override { return {{"fields", inputs_.to_json()}}; }
  void rebuild(const nlohmann::json& spec) override {
    inputs_.restore(spec.at("fields"));
    // The feature statistics are buffers: the saved weights overwrite these placeholders.
    make_net(torch::zeros({rewards::image_feature_dim()}),
             torch::ones({rewards::image_feature_dim()}));
  }
  at::Tensor scores(const AdSet& ads, const std::vector<int64_t>& index) override {
    return net_->forward(inputs_.image_features(ads, index, device_),
                         inputs_.field_ids(ads, index, device_));
  }
  torch::nn::Module& module() override { return *net_; }
  void end_training() override { inputs_.release(); }

 private:
  void make_net(const at::Tensor& mean, const at::Tensor& sd) {
    const int64_t k = kind_ == Kind::LR ? 1 : o_.factors;
    std::vector<int64_t> hidden;
    if (kind_ == Kind::DeepFM) hidden = o_.hidden;
    net_ = ClassicCtrNet(kind_, inputs_.fields().cardinality(), inputs_.fields().num_fields(), k,
                         hidden, mean, sd);
  }

  Kind kind_;
  ClassicCtrOptions o_;
  FieldInputs inputs_;
  ClassicCtrNet net_{nullptr};
};

}  // namespace

void register_classic_ctr(Plugins& p) {
  nlohmann::json base = PointScorerOptions::defaults("binomial");
  base["batch_size"] = 256;
  base["lr"] = 1e-2;
  p.reward_models.add("lr",
                      "logistic regression over product fields and the fixed image embedding, "
                      "binomial log-likelihood of the logged counts",
                      base, [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<ClassicCtrModel>(Kind::LR, cfg);
                      });
  nlohmann::json fm = base;
  fm.update(fields_to_json(ClassicCtrOptions{Kind::FM}));
  p.reward_models.add("fm", "factorisation machine over product fields and the image embedding", fm,
                      [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<ClassicCtrModel>(Kind::FM, cfg);
                      });
  nlohmann::json deepfm = base;
  deepfm.update(fields_to_json(ClassicCtrOptions{Kind::DeepFM}));
  deepfm["lr"] = 3e-3;
  p.reward_models.add("deepfm", "DeepFM: the FM plus an MLP over the same factor vectors", deepfm,
                      [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<ClassicCtrModel>(Kind::DeepFM, cfg);
                      });
}

}  // namespace caig::baselines
