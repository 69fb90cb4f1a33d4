// `torchscript`: a reward model saved with torch.jit.script / torch.jit.trace (or built in C++).
// Documented signature:
//   forward(left: Tensor[B, 3, H, W], right: Tensor[B, 3, H, W]) -> Tensor
// images float RGB in [0, 1]; the result is either [B] P(left better) in [0, 1], or [B, 2] logits
// (left better, right better), turned into probabilities with a softmax. An optional method
//   ctr(images: Tensor[B, 3, H, W]) -> Tensor[B]
// gives point-wise CTRs. The module is used as saved: it is not trained by the harness.
#include <fmt/ranges.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "rewards/ad_set.h"
#include "rewards/register.h"
#include "rewards/reward_model.h"

namespace caig::rewards {

namespace {

// [reward_models.torchscript] (harness/json_fields.h).
struct TorchScriptOptions {
  std::string path;  // the scripted module file
  std::string device = "cpu";
  int64_t eval_batch_size = 64;
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("path", o.path);
    f("device", o.device);
    f("eval_batch_size", o.eval_batch_size);
  }
};

class TorchScriptRewardModel : public RewardModel {
 public:
  explicit TorchScriptRewardModel(const nlohmann::json& cfg)
      : TorchScriptRewardModel(
            fields_from_json<TorchScriptOptions>(cfg, "reward model torchscript")) {}
  explicit TorchScriptRewardModel(const TorchScriptOptions& o)
      : path_(o.path), device_(o.device), batch_(o.eval_batch_size) {
    if (path_.empty())
      fail("reward model torchscript: 'path' is not set (reward_models.torchscript.path)");
    if (batch_ < 1) fail("reward model torchscript: eval_batch_size must be positive");
  }

  std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) override {
    load();
    torch::NoGradGuard no_grad;
    std::vector<double> p;
    const auto n = static_cast<int64_t>(pairs.size());
    for (int64_t start = 0; start < n; start += batch_) {
      std::vector<int64_t> l, r;
      for (int64_t i = start; i < std::min(n, start + batch_); ++i) {
        l.push_back(pairs[static_cast<size_t>(i)].left);
        r.push_back(pairs[static_cast<size_t>(i)].right);
      }
      const auto b = static_cast<int64_t>(l.size());
      at::Tensor out;
      try {
        out = module_
                  .forward(
                      {float_images(ads.images, l, device_), float_images(ads.images, r, device_)})
                  .toTensor();
      } catch (const c10::Error& e) {
        fail("reward model torchscript ({}): forward failed on pairs {}..{}: {}", path_, start + 1,
             start + b, e.what_without_backtrace());
      }
      if (out.dim() == 2 && out.size(0) == b && out.size(1) == 2) {
        out = torch::softmax(out.to(torch::kDouble), 1).select(1, 0);
      } else if (!(out.dim() == 1 && out.size(0) == b)) {
        fail(
            "reward model torchscript ({}): forward returned a tensor of shape {}, expected [{}] "
            "probabilities or [{}, 2] logits",
            path_, fmt::format("{}", fmt::join(out.sizes(), "x")), b, b);
      }
      out = out.to(torch::kCPU).to(torch::kDouble).contiguous();
      p.insert(p.end(), out.data_ptr<double>(), out.data_ptr<double>() + out.numel());
    }
    return p;
  }

  bool has_ctr() const override {
    load();
    return module_.find_method("ctr").has_value();
  }
  std::vector<double> ctr(const AdSet& ads) override {
    if (!has_ctr()) return RewardModel::ctr(ads);
    torch::NoGradGuard no_grad;
    std::vector<double> c;
    for (int64_t start = 0; start < ads.size(); start += batch_) {
      std::vector<int64_t> rows;
      for (int64_t i = start; i < std::min(ads.size(), start + batch_); ++i) rows.push_back(i);
      auto out = module_.get_method("ctr")({float_images(ads.images, rows, device_)}).toTensor();
      if (!(out.dim() == 1 && out.size(0) == static_cast<int64_t>(rows.size())))
        fail("reward model torchscript ({}): ctr returned the wrong shape", path_);
      out = out.to(torch::kCPU).to(torch::kDouble).contiguous();
      c.insert(c.end(), out.data_ptr<double>(), out.data_ptr<double>() + out.numel());
    }
    return c;
  }
  nlohmann::json info() const override { return {{"path", path_}}; }
  std::vector<std::filesystem::path> external_files() const override { return {path_}; }

 private:
  // Loaded on first use (also from the const has_ctr()), so a config check never reads the file.
  void load() const {
    if (loaded_) return;
    try {
      module_ = torch::jit::load(path_, torch::Device(device_));
    } catch (const c10::Error& e) {
      fail("reward model torchscript: cannot load {}: {}", path_, e.what_without_backtrace());
    }
    if (!module_.find_method("forward"))
      fail("reward model torchscript: {} has no forward(left, right) method", path_);
    module_.eval();
    loaded_ = true;
  }

  std::string path_, device_;
  int64_t batch_;
  mutable bool loaded_ = false;
  mutable torch::jit::Module module_;
};

}  // namespace

void register_torchscript_rm(Plugins& p) {
  p.reward_models.add("torchscript",
                      "your own reward model as a TorchScript file: forward(left, right) images "
                      "-> [B] P(left better) or [B, 2] logits; optional ctr(images)",
                      fields_to_json(TorchScriptOptions{}),
                      [](const nlohmann::json& cfg, const PluginContext&) {
                        return std::make_unique<TorchScriptRewardModel>(cfg);
                      });
}

}  // namespace caig::rewards
