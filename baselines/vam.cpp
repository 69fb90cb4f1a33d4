// VAM (Wang et al., WWW 2021): a ResNet-style CNN over the ad -> 10 outputs whose mean is the
// score; trained on lists of 3 creatives of one product with softmax CE against softmax(1000 c)
// plus 0.5 * MSE(score, 100 c), c the smoothed CTR. Sees pixels only.
#include <torch/torch.h>

#include "baselines/point_scorer.h"
#include "baselines/register.h"
#include "baselines/small_resnet.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "rewards/ad_set.h"

namespace caig::baselines {

namespace {

struct VamNetImpl : torch::nn::Module {
  VamNetImpl(int64_t width, int64_t outputs) {
    trunk = register_module("trunk", SmallResNet(width));
    head = register_module("head", torch::nn::Linear(trunk->out_dim(), outputs));
  }
  at::Tensor forward(const at::Tensor& images) { return head(trunk(images)).mean(1); }
  SmallResNet trunk{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(VamNet);

// VAM's own keys, beside the point scorer's (harness/json_fields.h).
struct VamOptions {
  int64_t width = 16;    // channels of the first stage (then 2x, 4x)
  int64_t outputs = 10;  // head outputs averaged into the score
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("width", o.width);
    f("outputs", o.outputs);
  }
};

class VamModel : public PointScorerModel {
 public:
  explicit VamModel(const nlohmann::json& cfg)
      : PointScorerModel(PointScorerOptions::from_json(cfg)),
        o_(fields_from_json<VamOptions>(cfg, "reward model vam", /*other_keys=*/true)) {}

 protected:
  void build(const TrainingSet&, const std::string&) override {
    net_ = VamNet(o_.width, o_.outputs);
  }
  void rebuild(const nlohmann::json&) override { net_ = VamNet(o_.width, o_.outputs); }
  at::Tensor scores(const AdSet& ads, const std::vector<int64_t>& index) override {
    return net_->forward(rewards::float_images(ads.images, index, device_));
  }
  torch::nn::Module& module() override { return *net_; }

 private:
  VamOptions o_;
  VamNet net_{nullptr};
};

}  // namespace

void register_vam(Plugins& p) {
  nlohmann::json defaults = PointScorerOptions::defaults("listwise");
  defaults.update(fields_to_json(VamOptions{}));
  p.reward_models.add(
      "vam",
      "VAM (WWW 2021): ResNet-style CNN over the ad, 10 outputs averaged; list-wise "
      "softmax CE + 0.5 MSE on smoothed CTR; pixels only",
      defaults, [](const nlohmann::json& cfg, const PluginContext&) {
        return std::make_unique<VamModel>(cfg);
      });
}

}  // namespace caig::baselines
