// The privileged reference row of the reward table: logistic regression on the true background
// slots of each ad (scene, lighting, style, palette, prop) and their interactions with the
// product's category, trained point-wise on the logged counts like `lr`. It reads no pixels and
// no text but the simulator's hidden truth (AdSet::true_slots), which no deployed model has: its
// accuracy says how much of the logged signal the background can explain at all.
#include <torch/torch.h>

#include "baselines/point_scorer.h"
#include "baselines/register.h"
#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "rewards/ad_set.h"

namespace caig::baselines {

namespace {

const std::vector<std::string>& slot_names() {
  static const std::vector<std::string> names = {"scene", "lighting", "style", "palette", "prop"};
  return names;
}

// The feature ids of an ad: its category, each slot's value, and each (category, slot value).
// An ad's `keys` are looked up in a vocabulary fitted on the training ads; an unseen key maps to
// id 0, whose weight stays zero.
std::vector<std::string> feature_keys(const AdInfo& ad, const nlohmann::json& slots) {
  std::vector<std::string> keys = {"category=" + ad.category};
  for (const auto& s : slot_names()) {
    const std::string v = slots.is_object() && slots.contains(s) && slots[s].is_string()
                              ? slots[s].get<std::string>()
                              : "";
    keys.push_back(s + "=" + v);
    keys.push_back(ad.category + "|" + s + "=" + v);
  }
  return keys;
}

struct SlotsLrNetImpl : torch::nn::Module {
  explicit SlotsLrNetImpl(int64_t vocabulary) {
    bias = register_parameter("bias", torch::full({1}, -3.5));  // logit of a ~3% CTR
    weight = register_module("weight", torch::nn::Embedding(vocabulary, 1));
    torch::nn::init::zeros_(weight->weight);
  }
  at::Tensor forward(const at::Tensor& ids) { return bias + weight(ids).sum({1, 2}); }
  at::Tensor bias;
  torch::nn::Embedding weight{nullptr};
};
TORCH_MODULE(SlotsLrNet);

class SlotsLrModel : public PointScorerModel {
 public:
  explicit SlotsLrModel(const nlohmann::json& cfg)
      : PointScorerModel(PointScorerOptions::from_json(cfg)) {
    if (options_.objective != "binomial")
      fail("reward model slots_lr: objective must be \"binomial\" (it fits the logged counts)");
  }
  bool needs_true_ctr() const override { return true; }  // it reads the world's hidden slots
  nlohmann::json info() const override {
    auto j = PointScorerModel::info();
    j["privileged"] =
        "reads the true background slots (simulator truth, no pixels): a reference, not a "
        "deployable model";
    j["features"] = static_cast<int64_t>(vocabulary_.size());
    return j;
  }

 protected:
  void build(const TrainingSet& t, const std::string&) override {
    check(t.ads);
    vocabulary_.clear();
    for (int64_t i = 0; i < t.ads.size(); ++i)
      for (auto& k : feature_keys(t.ads.ads[static_cast<size_t>(i)],
                                  t.ads.true_slots[static_cast<size_t>(i)]))
        vocabulary_.emplace(k, static_cast<int64_t>(vocabulary_.size()) + 1);
    net_ = SlotsLrNet(static_cast<int64_t>(vocabulary_.size()) + 1);
  }
  nlohmann::json build_spec() const override { return {{"vocabulary", vocabulary_}}; }
  void rebuild(const nlohmann::json& spec) override {
    vocabulary_ = spec.at("vocabulary").get<std::map<std::string, int64_t>>();
    net_ = SlotsLrNet(static_cast<int64_t>(vocabulary_.size()) + 1);
  }
  at::Tensor scores(const AdSet& ads, const std::vector<int64_t>& index) override {
    check(ads);
    const int64_t width = 1 + 2 * static_cast<int64_t>(slot_names().size());
    auto ids = torch::zeros({static_cast<int64_t>(index.size()), width}, torch::kLong);
    auto a = ids.accessor<int64_t, 2>();
    for (size_t r = 0; r < index.size(); ++r) {
      const auto i = static_cast<size_t>(index[r]);
      const auto keys = feature_keys(ads.ads.at(i), ads.true_slots.at(i));
      for (size_t k = 0; k < keys.size(); ++k) {
        const auto it = vocabulary_.find(keys[k]);
        a[static_cast<int64_t>(r)][static_cast<int64_t>(k)] =
            it == vocabulary_.end() ? 0 : it->second;
      }
    }
    return net_->forward(ids.to(torch::Device(device_)));
  }
  torch::nn::Module& module() override { return *net_; }

 private:
  static void check(const AdSet& ads) {
    if (static_cast<int64_t>(ads.true_slots.size()) != ads.size())
      fail(
          "reward model slots_lr reads the true background slots, which only a simulated "
          "dataset has");
  }
  std::map<std::string, int64_t> vocabulary_;  // ordered: the same ids in every process
  SlotsLrNet net_{nullptr};
};

}  // namespace

void register_privileged_slots(Plugins& p) {
  nlohmann::json cfg = PointScorerOptions::defaults("binomial");
  cfg["batch_size"] = 256;
  cfg["lr"] = 1e-2;
  p.reward_models.add(
      "slots_lr",
      "privileged reference: logistic regression on the TRUE background slots x "
      "category (simulator truth, no pixels; binomial log-likelihood of the counts)",
      cfg, [](const nlohmann::json& c, const PluginContext&) {
        return std::make_unique<SlotsLrModel>(c);
      });
}

}  // namespace caig::baselines
