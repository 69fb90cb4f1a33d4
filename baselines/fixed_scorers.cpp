// The reward models that do not train: a generic aesthetic judge (the stand-in for zero-shot
// general MLLMs), a coin flip, and the oracle that reads the simulator's true CTR (the ceiling).
#include <cmath>

#include <torch/torch.h>

#include "baselines/register.h"
#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "rewards/ad_set.h"
#include "rewards/image_features.h"

namespace caig::baselines {

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct JudgeOptions {
  double colour_weight = 1.0;
  double contrast_weight = 1.0;
  double temperature = 0.05;
  int64_t eval_batch_size = 256;
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("colour_weight", o.colour_weight);
    f("contrast_weight", o.contrast_weight);
    f("temperature", o.temperature);
    f("eval_batch_size", o.eval_batch_size);
  }
};

// Fixed aesthetic score: colour_weight * colourfulness + contrast_weight * luminance contrast.
class JudgeModel : public RewardModel {
 public:
  explicit JudgeModel(const nlohmann::json& cfg)
      : o_(fields_from_json<JudgeOptions>(cfg, "reward model judge")) {
    if (o_.temperature <= 0) fail("judge: temperature must be positive");
    if (o_.eval_batch_size < 1) fail("judge: eval_batch_size must be positive");
  }
  std::vector<double> aesthetic(const AdSet& ads) const {
    std::vector<double> s;
    for (int64_t start = 0; start < ads.size(); start += o_.eval_batch_size) {
      std::vector<int64_t> rows;
      for (int64_t i = start; i < std::min(ads.size(), start + o_.eval_batch_size); ++i)
        rows.push_back(i);
      const auto x = rewards::float_images(ads.images, rows, "cpu");
      const auto v = (o_.colour_weight * rewards::colourfulness(x) +
                      o_.contrast_weight * rewards::luminance_contrast(x))
                         .to(torch::kDouble)
                         .contiguous();
      s.insert(s.end(), v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
    }
    return s;
  }
  std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) override {
    const auto s = aesthetic(ads);
    std::vector<double> p;
    for (const auto& pr : pairs)
      p.push_back(
          sigmoid((s.at(static_cast<size_t>(pr.left)) - s.at(static_cast<size_t>(pr.right))) /
                  o_.temperature));
    return p;
  }

 private:
  JudgeOptions o_;
};

// P(left better) uniform in [0, 1), a function of the seed and the two image files only, so it
// does not depend on batching or on the order pairs are asked in.
class RandomModel : public RewardModel {
 public:
  explicit RandomModel(uint64_t seed) : seed_(seed) {}
  std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) override {
    std::vector<double> p;
    for (const auto& pr : pairs) {
      const auto& l = ads.ads.at(static_cast<size_t>(pr.left));
      const auto& r = ads.ads.at(static_cast<size_t>(pr.right));
      Rng rng(derive_seed(seed_, key(l) + "\n" + key(r)));
      p.push_back(rng.uniform());
    }
    return p;
  }

 private:
  // An ad's name within its dataset: the product and the image's file name, never the absolute
  // path, which holds the run directory (and, while a run is written, its process id).
  static std::string key(const AdInfo& ad) {
    return ad.product_id + "/" + ad.image_path.filename().string();
  }
  uint64_t seed_;
};

// The simulator's true CTR: P(left better) = sigmoid(sharpness * (logit ctr_l - logit ctr_r)),
// exactly 0.5 for equal CTRs.
class OracleModel : public RewardModel {
 public:
  struct Options {
    double sharpness = 50.0;  // of the sigmoid over the true CTRs' logit difference
    template <class Self, class F>
    static void fields(Self& o, F&& f) {
      f("sharpness", o.sharpness);
    }
  };
  explicit OracleModel(const nlohmann::json& cfg)
      : sharpness_(fields_from_json<Options>(cfg, "reward model oracle").sharpness) {}
  std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) override {
    check(ads);
    std::vector<double> p;
    auto logit = [](double c) { return std::log(c) - std::log1p(-c); };
    for (const auto& pr : pairs) {
      const double l = ads.true_ctr.at(static_cast<size_t>(pr.left));
      const double r = ads.true_ctr.at(static_cast<size_t>(pr.right));
      p.push_back(l == r ? 0.5 : sigmoid(sharpness_ * (logit(l) - logit(r))));
    }
    return p;
  }
  bool needs_true_ctr() const override { return true; }
  bool has_ctr() const override { return true; }
  std::vector<double> ctr(const AdSet& ads) override {
    check(ads);
    return ads.true_ctr;
  }

 private:
  static void check(const AdSet& ads) {
    if (static_cast<int64_t>(ads.true_ctr.size()) != ads.size())
      fail("oracle: the ads carry no true CTR (only simulated data has one)");
  }
  double sharpness_;
};

}  // namespace

void register_fixed_scorers(Plugins& p) {
  p.reward_models.add("judge",
                      "generic zero-shot judge: a fixed aesthetic score (colourfulness and "
                      "contrast) of each ad, no training, no text",
                      fields_to_json(JudgeOptions{}),
                      [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<JudgeModel>(cfg);
                      });
  p.reward_models.add("random", "a seeded coin flip per pair (the 50% floor)",
                      nlohmann::json::object(),
                      [](const nlohmann::json&, const PluginContext& ctx) {
                        return std::make_unique<RandomModel>(derive_seed(ctx.seed, "random_rm"));
                      });
  p.reward_models.add("oracle",
                      "the simulator's true CTR (the ceiling; observed labels are noisy, so it "
                      "stays below 100%)",
                      fields_to_json(OracleModel::Options{}),
                      [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<OracleModel>(cfg);
                      });
}

}  // namespace caig::baselines
