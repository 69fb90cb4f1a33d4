// The registered preference optimisers. Each reads its parameters from its own config (defaults
// from the method's paper or TRL, stated in the help line `caig list` prints) and combines the
// pure losses of preference_losses.h.
#include <functional>
#include <memory>

#include <torch/torch.h>

#include "harness/error.h"
#include "harness/plugins.h"
#include "optimisers/optimiser.h"
#include "optimisers/preference_losses.h"
#include "optimisers/register.h"

namespace caig::optimisers {

namespace {

double positive(const nlohmann::json& cfg, const char* key, const std::string& name) {
  const double v = cfg.at(key).get<double>();
  if (!(v > 0)) fail("optimiser {}: {} must be > 0, got {}", name, key, v);
  return v;
}

double mask_ratio(const nlohmann::json& cfg, const std::string& name) {
  const double v = cfg.at("mask_ratio").get<double>();
  if (!(v > 0 && v <= 1)) fail("optimiser {}: mask_ratio must be in (0, 1], got {}", name, v);
  return v;
}

// An optimiser given by its needs and a loss over the log-probs.
class FunctionOptimiser : public Optimiser {
 public:
  using Loss = std::function<at::Tensor(const PreferenceLogps&)>;
  FunctionOptimiser(OptimiserNeeds needs, Loss loss, nlohmann::json info)
      : needs_(std::move(needs)), loss_(std::move(loss)), info_(std::move(info)) {}
  OptimiserNeeds needs() const override { return needs_; }
  at::Tensor loss(const PreferenceLogps& lp) const override {
    if (!loss_) fail("optimiser {} does not train", info_.value("name", std::string("?")));
    return loss_(lp);
  }
  nlohmann::json info() const override { return info_; }

 private:
  OptimiserNeeds needs_;
  Loss loss_;
  nlohmann::json info_;
};

at::Tensor margin(const PreferenceLogps& lp) {
  return preference_margin(lp.chosen, lp.rejected, lp.ref_chosen, lp.ref_rejected);
}

using Make = std::function<std::unique_ptr<Optimiser>(const nlohmann::json& cfg)>;

void add(Plugins& p, const std::string& name, const std::string& help, nlohmann::json defaults,
         Make make) {
  p.optimisers.add(name, help, std::move(defaults),
                   [make](const nlohmann::json& cfg, const PluginContext&) { return make(cfg); });
}

nlohmann::json info_of(const std::string& name, const nlohmann::json& cfg) {
  nlohmann::json j = cfg;
  j["name"] = name;
  return j;
}

}  // namespace

void register_optimiser_family(Plugins& p) {
  add(p, "none", "the control arm: the pretrained prompt model, not trained",
      nlohmann::json::object(), [](const nlohmann::json& cfg) {
        OptimiserNeeds n;
        n.trains = false;
        n.rejected = n.reference = false;
        return std::make_unique<FunctionOptimiser>(n, nullptr, info_of("none", cfg));
      });

  add(p, "dpo", "DPO, -log s(beta h); beta 0.5 as in CAIG", {{"beta", 0.5}},
      [](const nlohmann::json& cfg) {
        const double beta = positive(cfg, "beta", "dpo");
        return std::make_unique<FunctionOptimiser>(
            OptimiserNeeds{},
            [beta](const PreferenceLogps& lp) { return dpo_loss(margin(lp), beta); },
            info_of("dpo", cfg));
      });

  add(p, "pcpo",
      "CAIG's product-centric PO: dpo + weight * -log s(product_beta [(lp(y+|I,C) - ref) - "
      "(lp(y+|I',C') - ref)]); variant paper (I' = 75% patches masked or another product, y+ "
      "fixed) or code (masked, or another pair's whole sample); beta 0.5",
      {{"beta", 0.5},
       {"product_beta", 0.5},
       {"product_weight", 1.0},
       {"variant", "paper"},
       {"mask_ratio", 0.75}},
      [](const nlohmann::json& cfg) {
        const double beta = positive(cfg, "beta", "pcpo");
        const double product_beta = positive(cfg, "product_beta", "pcpo");
        const double weight = cfg.at("product_weight").get<double>();
        if (!(weight >= 0)) fail("optimiser pcpo: product_weight must be >= 0, got {}", weight);
        const auto variant = cfg.at("variant").get<std::string>();
        if (variant != "paper" && variant != "code")
          fail("optimiser pcpo: variant '{}' is not one of: paper, code", variant);
        OptimiserNeeds n;
        n.perturbation = variant == "paper" ? "either" : "code";
        n.mask_ratio = mask_ratio(cfg, "pcpo");
        return std::make_unique<FunctionOptimiser>(
            n,
            [=](const PreferenceLogps& lp) {
              return dpo_loss(margin(lp), beta) +
                     weight * product_centric_loss(lp.chosen, lp.ref_chosen, lp.perturbed,
                                                   lp.ref_perturbed, product_beta);
            },
            info_of("pcpo", cfg));
      });

  add(p, "ipo", "IPO, (h - 1/(2 tau))^2; tau 0.1 (TRL's beta)", {{"tau", 0.1}},
      [](const nlohmann::json& cfg) {
        const double tau = positive(cfg, "tau", "ipo");
        return std::make_unique<FunctionOptimiser>(
            OptimiserNeeds{},
            [tau](const PreferenceLogps& lp) { return ipo_loss(margin(lp), tau); },
            info_of("ipo", cfg));
      });

  add(p, "hinge", "SLiC hinge, max(0, 1 - beta h); beta 0.1 (TRL)", {{"beta", 0.1}},
      [](const nlohmann::json& cfg) {
        const double beta = positive(cfg, "beta", "hinge");
        return std::make_unique<FunctionOptimiser>(
            OptimiserNeeds{},
            [beta](const PreferenceLogps& lp) { return hinge_loss(margin(lp), beta); },
            info_of("hinge", cfg));
      });

  add(p, "robust",
      "robust DPO for noisy labels (Chowdhury et al.); beta 0.1 (TRL), label_smoothing 0.1",
      {{"beta", 0.1}, {"label_smoothing", 0.1}}, [](const nlohmann::json& cfg) {
        const double beta = positive(cfg, "beta", "robust");
        const double eps = cfg.at("label_smoothing").get<double>();
        robust_dpo_loss(torch::zeros({1}), beta, eps);  // checks eps at creation
        return std::make_unique<FunctionOptimiser>(
            OptimiserNeeds{},
            [beta, eps](const PreferenceLogps& lp) {
              return robust_dpo_loss(margin(lp), beta, eps);
            },
            info_of("robust", cfg));
      });

  add(p, "simpo",
      "SimPO, reference-free, length-normalised, -log s(beta (c/|c| - r/|r|) - gamma); beta 2.0, "
      "gamma 1.0 (SimPO paper, gamma/beta 0.5)",
      {{"beta", 2.0}, {"gamma", 1.0}}, [](const nlohmann::json& cfg) {
        const double beta = positive(cfg, "beta", "simpo");
        const double gamma = cfg.at("gamma").get<double>();
        OptimiserNeeds n;
        n.reference = false;
        return std::make_unique<FunctionOptimiser>(
            n,
            [beta, gamma](const PreferenceLogps& lp) {
              return simpo_loss(lp.chosen, lp.rejected, lp.chosen_tokens, lp.rejected_tokens, beta,
                                gamma);
            },
            info_of("simpo", cfg));
      });

  add(p, "orpo",
      "ORPO, reference-free: chosen NLL + lambda * odds-ratio term; lambda 0.1 (TRL's beta)",
      {{"lambda", 0.1}}, [](const nlohmann::json& cfg) {
        const double lambda = cfg.at("lambda").get<double>();
        if (!(lambda >= 0)) fail("optimiser orpo: lambda must be >= 0, got {}", lambda);
        OptimiserNeeds n;
        n.reference = false;
        return std::make_unique<FunctionOptimiser>(
            n,
            [lambda](const PreferenceLogps& lp) {
              return orpo_loss(lp.chosen, lp.rejected, lp.chosen_tokens, lp.rejected_tokens,
                               lambda);
            },
            info_of("orpo", cfg));
      });

  add(p, "kto",
      "KTO on paired data (chosen desirable, rejected undesirable); its reference point is the "
      "batch's KL estimate from chosen descriptions scored under other products (as TRL); beta "
      "0.1, weights 1 (TRL)",
      {{"beta", 0.1}, {"desirable_weight", 1.0}, {"undesirable_weight", 1.0}},
      [](const nlohmann::json& cfg) {
        const double beta = positive(cfg, "beta", "kto");
        const double wd = cfg.at("desirable_weight").get<double>();
        const double wu = cfg.at("undesirable_weight").get<double>();
        if (!(wd >= 0 && wu >= 0)) fail("optimiser kto: the weights must be >= 0");
        OptimiserNeeds n;
        n.perturbation = "other";
        return std::make_unique<FunctionOptimiser>(
            n,
            [=](const PreferenceLogps& lp) {
              // The reference point is a constant (TRL computes it without gradients).
              const double kl = (lp.perturbed - lp.ref_perturbed).mean().item<double>();
              return kto_loss(lp.chosen, lp.rejected, lp.ref_chosen, lp.ref_rejected, kl, beta, wd,
                              wu);
            },
            info_of("kto", cfg));
      });

  add(p, "mdpo",
      "mDPO (Wang et al. 2024): dpo + conditional term (the chosen under a masked image) + "
      "anchor -log s(beta (c - rc) - delta); beta 0.1, mask_ratio 0.75, delta 0",
      {{"beta", 0.1},
       {"mask_ratio", 0.75},
       {"anchor_delta", 0.0},
       {"conditional_weight", 1.0},
       {"anchor_weight", 1.0}},
      [](const nlohmann::json& cfg) {
        const double beta = positive(cfg, "beta", "mdpo");
        const double delta = cfg.at("anchor_delta").get<double>();
        const double wc = cfg.at("conditional_weight").get<double>();
        const double wa = cfg.at("anchor_weight").get<double>();
        OptimiserNeeds n;
        n.perturbation = "mask";
        n.mask_ratio = mask_ratio(cfg, "mdpo");
        return std::make_unique<FunctionOptimiser>(
            n,
            [=](const PreferenceLogps& lp) {
              return dpo_loss(margin(lp), beta) +
                     wc * product_centric_loss(lp.chosen, lp.ref_chosen, lp.perturbed,
                                               lp.ref_perturbed, beta) +
                     wa * anchor_loss(lp.chosen, lp.ref_chosen, beta, delta);
            },
            info_of("mdpo", cfg));
      });

  add(p, "best_of_n",
      "rejection-sampling fine-tuning: the chosen description's mean token NLL (the judge's best "
      "of the product's samples)",
      nlohmann::json::object(), [](const nlohmann::json& cfg) {
        OptimiserNeeds n;
        n.rejected = false;
        n.reference = false;
        return std::make_unique<FunctionOptimiser>(
            n, [](const PreferenceLogps& lp) { return sft_loss(lp.chosen, lp.chosen_tokens); },
            info_of("best_of_n", cfg));
      });
}

}  // namespace caig::optimisers
