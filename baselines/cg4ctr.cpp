// CG4CTR's reward model (Yang et al., WWW 2024): per-modality MLPs (image, title, product fields)
// make one token each; a 4-layer, 4-head transformer encoder mixes them; the pooled state -> 10
// outputs, averaged into the score. Loss 0.9 * list-wise + 0.1 * point-wise. A missing modality
// (text-free data) uses a learned "missing" token.
#include <torch/torch.h>

#include "baselines/point_scorer.h"
#include "baselines/register.h"
#include "baselines/small_resnet.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "rewards/ad_set.h"
#include "rewards/image_features.h"
#include "rewards/product_fields.h"

namespace caig::baselines {

namespace nn = torch::nn;

namespace {

nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
  return nn::Sequential(nn::Linear(in, hidden), nn::GELU(), nn::Linear(hidden, out));
}

struct Cg4ctrNetImpl : nn::Module {
  Cg4ctrNetImpl(int64_t cnn_width, int64_t d, int64_t layers, int64_t heads, int64_t outputs,
                int64_t vocab, int64_t field_ids, int64_t fields, const at::Tensor& feature_mean,
                const at::Tensor& feature_sd, bool has_text)
      : has_text(has_text) {
    cnn = register_module("cnn", SmallResNet(cnn_width));
    image_mlp =
        register_module("image_mlp", mlp(cnn->out_dim() + rewards::image_feature_dim(), 2 * d, d));
    title_mlp = register_module("title_mlp", mlp(vocab, 2 * d, d));
    field_embed = register_module("field_embed", nn::Embedding(field_ids, d));
    field_mlp = register_module("field_mlp", mlp(fields * d, 2 * d, d));
    modality = register_parameter("modality", torch::randn({3, d}) * 0.02);
    missing = register_parameter("missing", torch::randn({2, d}) * 0.02);
    nn::TransformerEncoderLayerOptions lo(d, heads);
    lo.dim_feedforward(2 * d).dropout(0.0);
    encoder = register_module("encoder",
                              nn::TransformerEncoder(nn::TransformerEncoderOptions(lo, layers)));
    head = register_module("head", nn::Linear(d, outputs));
    this->feature_mean = register_buffer("feature_mean", feature_mean);
    this->feature_sd = register_buffer("feature_sd", feature_sd);
  }

  // images [B, 3, H, W] in [0, 1]; features [B, D] = rewards::image_features(images).
  at::Tensor forward(const at::Tensor& images, const at::Tensor& features,
                     const at::Tensor& title_bag, const at::Tensor& field_ids) {
    const int64_t b = images.size(0);
    const auto feats = (features - feature_mean) / feature_sd;
    std::vector<at::Tensor> tokens = {image_mlp->forward(torch::cat({cnn(images), feats}, 1))};
    if (has_text) {
      tokens.push_back(title_mlp->forward(title_bag));
      tokens.push_back(field_mlp->forward(field_embed(field_ids).flatten(1)));
    } else {
      tokens.push_back(missing[0].expand({b, -1}));
      tokens.push_back(missing[1].expand({b, -1}));
    }
    auto x = torch::stack(tokens, 0) + modality.unsqueeze(1);  // [3, B, d] (sequence first)
    x = encoder(x);
    return head(x.mean(0)).mean(1);
  }

  bool has_text;
  SmallResNet cnn{nullptr};
  nn::Sequential image_mlp{nullptr}, title_mlp{nullptr}, field_mlp{nullptr};
  nn::Embedding field_embed{nullptr};
  nn::TransformerEncoder encoder{nullptr};
  nn::Linear head{nullptr};
  at::Tensor modality, missing, feature_mean, feature_sd;
};
TORCH_MODULE(Cg4ctrNet);

// CG4CTR's own keys, beside the point scorer's (harness/json_fields.h).
struct Cg4ctrOptions {
  int64_t cnn_width = 8;
  int64_t d_model = 64;
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t outputs = 10;
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("cnn_width", o.cnn_width);
    f("d_model", o.d_model);
    f("layers", o.layers);
    f("heads", o.heads);
    f("outputs", o.outputs);
  }
};

class Cg4ctrModel : public PointScorerModel {
 public:
  explicit Cg4ctrModel(const nlohmann::json& cfg)
      : PointScorerModel(PointScorerOptions::from_json(cfg)) {
    fields_from_json(o_, cfg, "reward model cg4ctr", /*other_keys=*/true);
  }

 protected:
  void build(const TrainingSet& t, const std::string&) override {
    inputs_.fit(t.ads);
    const auto& f = inputs_.train_features();
    has_text_ = t.ads.has_text;
    make_net(f.mean(0), f.std(0).clamp_min(1e-3));
  }
  nlohmann::json build_spec() const override {
    return {{"fields", inputs_.to_json()}, {"has_text", has_text_}};
  }
  void rebuild(const nlohmann::json& spec) override {
    inputs_.restore(spec.at("fields"));
    has_text_ = spec.at("has_text").get<bool>();
    // The feature statistics are buffers: the saved weights overwrite these placeholders.
    make_net(torch::zeros({rewards::image_feature_dim()}),
             torch::ones({rewards::image_feature_dim()}));
  }
  at::Tensor scores(const AdSet& ads, const std::vector<int64_t>& index) override {
    return net_->forward(rewards::float_images(ads.images, index, device_),
                         inputs_.image_features(ads, index, device_),
                         inputs_.title_bags(ads, index, device_),
                         inputs_.field_ids(ads, index, device_));
  }
  torch::nn::Module& module() override { return *net_; }
  void end_training() override { inputs_.release(); }

 private:
  void make_net(const at::Tensor& mean, const at::Tensor& sd) {
    const auto& fields = inputs_.fields();
    net_ = Cg4ctrNet(o_.cnn_width, o_.d_model, o_.layers, o_.heads, o_.outputs,
                     std::max<int64_t>(1, fields.vocab_size()), fields.cardinality(),
                     fields.num_fields(), mean, sd, has_text_);
  }

  Cg4ctrOptions o_;
  FieldInputs inputs_;
  bool has_text_ = true;
  Cg4ctrNet net_{nullptr};
};

}  // namespace

void register_cg4ctr(Plugins& p) {
  nlohmann::json defaults = PointScorerOptions::defaults("listwise");
  defaults["list_weight"] = 0.9;
  defaults["point_weight"] = 0.1;
  defaults.update(fields_to_json(Cg4ctrOptions{}));
  p.reward_models.add("cg4ctr",
                      "CG4CTR (WWW 2024): image / title / field tokens through a 4-layer 4-head "
                      "encoder, 10 outputs averaged; 0.9 list-wise + 0.1 point-wise",
                      defaults, [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<Cg4ctrModel>(cfg);
                      });
}

}  // namespace caig::baselines
