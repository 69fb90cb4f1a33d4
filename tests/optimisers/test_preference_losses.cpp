// The preference losses against values computed by hand from their formulas (preference_losses.h),
// their gradients, and the edge cases: beta -> 0, equal log-probs, very large margins.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/error.h"
#include "harness/plugins.h"
#include "optimisers/optimiser.h"
#include "optimisers/preference_losses.h"
#include "optimisers/register.h"

using namespace caig;
using namespace caig::optimisers;

namespace {

at::Tensor t(std::initializer_list<double> v, bool grad = false) {
  return torch::tensor(std::vector<double>(v), torch::kFloat64).requires_grad_(grad);
}
double at0(const at::Tensor& x) { return x.index({0}).item<double>(); }

// c = -1, r = -2, rc = rr = -1.5: h = 0.5 - (-0.5) = 1.
struct Pair {
  at::Tensor c = t({-1.0}, true), r = t({-2.0}, true), rc = t({-1.5}), rr = t({-1.5});
};

}  // namespace

TEST(PreferenceLosses, MarginIsTheDifferenceOfLogRatios) {
  Pair p;
  EXPECT_DOUBLE_EQ(at0(preference_margin(p.c, p.r, p.rc, p.rr)), 1.0);
  EXPECT_THROW(preference_margin(t({1, 2}), t({1}), t({1}), t({1})), Error);
}

TEST(PreferenceLosses, DpoValueAndGradient) {
  Pair p;
  // -log s(0.5 * 1) = log(1 + e^-0.5)
  const auto l = dpo_loss(preference_margin(p.c, p.r, p.rc, p.rr), 0.5);
  EXPECT_NEAR(at0(l), 0.4740769841801067, 1e-12);
  l.sum().backward();
  // dL/dc = -beta s(-beta h), dL/dr = +beta s(-beta h)
  EXPECT_NEAR(at0(p.c.grad()), -0.1887703343990727, 1e-12);
  EXPECT_NEAR(at0(p.r.grad()), 0.1887703343990727, 1e-12);
}

TEST(PreferenceLosses, DpoEdgeCases) {
  // Equal log-probs: h = 0, loss log 2, gradient -beta / 2.
  auto c = t({-3.0}, true);
  auto l = dpo_loss(preference_margin(c, t({-3.0}), t({-3.0}), t({-3.0})), 0.5);
  EXPECT_NEAR(at0(l), std::log(2.0), 1e-12);
  l.sum().backward();
  EXPECT_NEAR(at0(c.grad()), -0.25, 1e-12);
  // beta -> 0: log 2 and a vanishing gradient, whatever the margin.
  auto c2 = t({10.0}, true);
  auto l2 = dpo_loss(preference_margin(c2, t({-10.0}), t({0.0}), t({0.0})), 1e-9);
  EXPECT_NEAR(at0(l2), std::log(2.0), 1e-8);
  l2.sum().backward();
  EXPECT_NEAR(at0(c2.grad()), -0.5e-9, 1e-15);
  // Huge margins stay finite: +1e4 -> 0, -1e4 -> beta * 1e4 with gradient -beta.
  auto big = t({1e4, -1e4}, true);
  auto l3 = dpo_loss(big, 0.5);
  EXPECT_NEAR(l3.index({0}).item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(l3.index({1}).item<double>(), 5000.0, 1e-9);
  l3.sum().backward();
  EXPECT_TRUE(torch::isfinite(big.grad()).all().item<bool>());
  EXPECT_NEAR(big.grad().index({1}).item<double>(), -0.5, 1e-12);
  EXPECT_THROW(dpo_loss(big, 0.0), Error);
}

TEST(PreferenceLosses, IpoHingeRobust) {
  auto h = t({1.0}, true);
  // IPO: (1 - 1/(2 * 0.1))^2 = 16, gradient 2 (h - 5) = -8.
  auto l = ipo_loss(h, 0.1);
  EXPECT_NEAR(at0(l), 16.0, 1e-12);
  l.sum().backward();
  EXPECT_NEAR(at0(h.grad()), -8.0, 1e-12);
  // Hinge: max(0, 1 - 0.1) = 0.9 with gradient -0.1; beyond the margin 0 and no gradient.
  auto h2 = t({1.0, 20.0}, true);
  auto l2 = hinge_loss(h2, 0.1);
  EXPECT_NEAR(l2.index({0}).item<double>(), 0.9, 1e-12);
  EXPECT_NEAR(l2.index({1}).item<double>(), 0.0, 1e-12);
  l2.sum().backward();
  EXPECT_NEAR(h2.grad().index({0}).item<double>(), -0.1, 1e-12);
  EXPECT_NEAR(h2.grad().index({1}).item<double>(), 0.0, 1e-12);
  // Robust: ((0.9) log(1 + e^-0.5) - 0.1 log(1 + e^0.5)) / 0.8; eps = 0 is DPO.
  EXPECT_NEAR(at0(robust_dpo_loss(t({1.0}), 0.5, 0.1)), 0.41157698418010663, 1e-12);
  EXPECT_NEAR(at0(robust_dpo_loss(t({1.0}), 0.5, 0.0)), at0(dpo_loss(t({1.0}), 0.5)), 1e-15);
  EXPECT_TRUE(torch::isfinite(robust_dpo_loss(t({1e4, -1e4}), 0.5, 0.1)).all().item<bool>());
  EXPECT_THROW(robust_dpo_loss(t({1.0}), 0.5, 0.5), Error);
}

TEST(PreferenceLosses, SimpoIsLengthNormalisedAndReferenceFree) {
  // c = -2 over 2 tokens, r = -6 over 3: averages -1 and -2; -log s(2 * 1 - 1) = log(1 + e^-1).
  auto c = t({-2.0}, true);
  auto l = simpo_loss(c, t({-6.0}), t({2.0}), t({3.0}), 2.0, 1.0);
  EXPECT_NEAR(at0(l), 0.31326168751822286, 1e-12);
  l.sum().backward();
  // dL/dc = -(beta / nc) s(-(x)), x = 1
  EXPECT_NEAR(at0(c.grad()), -(2.0 / 2.0) / (1.0 + std::exp(1.0)), 1e-12);
  // Equal averages: -log s(-gamma).
  EXPECT_NEAR(at0(simpo_loss(t({-2.0}), t({-3.0}), t({2.0}), t({3.0}), 2.0, 1.0)),
              std::log1p(std::exp(1.0)), 1e-12);
}

TEST(PreferenceLosses, OrpoAddsTheOddsRatioToTheChosenNll) {
  // mc = -0.5, mr = -1: 0.5 + 0.1 * -log s(log odds(-0.5) - log odds(-1)).
  auto c = t({-1.0}, true);
  auto l = orpo_loss(c, t({-3.0}), t({2.0}), t({3.0}), 0.1);
  EXPECT_NEAR(at0(l), 0.5320299785237537, 1e-12);
  l.sum().backward();
  EXPECT_TRUE(std::isfinite(at0(c.grad())));
  EXPECT_LT(at0(c.grad()), 0.0);  // raising the chosen log-prob lowers the loss
  // A chosen description of probability 1 (log-prob 0) and a near-certain rejected one stay finite.
  auto c0 = t({0.0, -1e-12}, true);
  auto l0 = orpo_loss(c0, t({-1e-9, -50.0}), t({3.0, 3.0}), t({3.0, 3.0}), 0.1);
  EXPECT_TRUE(torch::isfinite(l0).all().item<bool>());
  l0.sum().backward();
  EXPECT_TRUE(torch::isfinite(c0.grad()).all().item<bool>());
}

TEST(PreferenceLosses, KtoUsesAClampedReferencePoint) {
  Pair p;
  // ratios 0.5 and -0.5, z = 0.2: ((1 - s(0.03)) + (1 - s(0.07))) / 2.
  EXPECT_NEAR(at0(kto_loss(p.c, p.r, p.rc, p.rr, 0.2, 0.1, 1.0, 1.0)), 0.48750385239149496, 1e-12);
  // A negative KL estimate clamps to 0: both terms 1 - s(0.05).
  EXPECT_NEAR(at0(kto_loss(p.c, p.r, p.rc, p.rr, -1.0, 0.1, 1.0, 1.0)), 0.48750260351578967, 1e-12);
  auto l = kto_loss(p.c, p.r, p.rc, p.rr, 0.0, 0.1, 1.0, 1.0);
  l.sum().backward();
  // dL/dc = -(w_d / 2) beta s'(beta * 0.5)
  const double s = 1.0 / (1.0 + std::exp(-0.05));
  EXPECT_NEAR(at0(p.c.grad()), -0.5 * 0.1 * s * (1 - s), 1e-12);
  EXPECT_NEAR(at0(p.r.grad()), 0.5 * 0.1 * s * (1 - s), 1e-12);
}

TEST(PreferenceLosses, ProductCentricAnchorAndSft) {
  // (c - rc) - (p - rp) = 0.5 + 1 = 1.5; -log s(0.75).
  auto c = t({-1.0}, true), pert = t({-3.0}, true);
  auto l = product_centric_loss(c, t({-1.5}), pert, t({-2.0}), 0.5);
  EXPECT_NEAR(at0(l), 0.38687100611489994, 1e-12);
  l.sum().backward();
  const double g = 0.5 / (1.0 + std::exp(0.75));
  EXPECT_NEAR(at0(c.grad()), -g, 1e-12);
  EXPECT_NEAR(at0(pert.grad()), g, 1e-12);
  // The same description as likely under both products, relative to the reference: log 2.
  EXPECT_NEAR(at0(product_centric_loss(t({-2.0}), t({-2.0}), t({-4.0}), t({-4.0}), 0.5)),
              std::log(2.0), 1e-12);
  EXPECT_NEAR(at0(anchor_loss(t({-1.0}), t({-1.5}), 0.5, 0.0)), 0.5759394198788436, 1e-12);
  EXPECT_NEAR(at0(anchor_loss(t({-1.0}), t({-1.5}), 0.5, 0.25)), std::log(2.0), 1e-12);
  auto c2 = t({-3.0}, true);
  auto s = sft_loss(c2, t({3.0}));
  EXPECT_NEAR(at0(s), 1.0, 1e-12);
  s.sum().backward();
  EXPECT_NEAR(at0(c2.grad()), -1.0 / 3.0, 1e-12);
}

// The registered optimisers combine the losses as their help lines say.
TEST(OptimiserFamily, RegisteredLossesCombineTheTerms) {
  Plugins plugins;
  register_plugins(plugins);
  PluginContext ctx{nullptr, 0};
  PreferenceLogps lp;
  lp.chosen = t({-1.0});
  lp.rejected = t({-2.0});
  lp.ref_chosen = t({-1.5});
  lp.ref_rejected = t({-1.5});
  lp.chosen_tokens = t({2.0});
  lp.rejected_tokens = t({2.0});
  lp.perturbed = t({-3.0});
  lp.ref_perturbed = t({-2.0});
  auto loss = [&](const std::string& name, const nlohmann::json& cfg = nlohmann::json::object()) {
    return at0(plugins.optimisers.create(name, cfg, ctx)->loss(lp));
  };
  EXPECT_NEAR(loss("dpo"), 0.4740769841801067, 1e-12);
  EXPECT_NEAR(loss("pcpo"), 0.4740769841801067 + 0.38687100611489994, 1e-12);
  EXPECT_NEAR(loss("pcpo", {{"product_weight", 0.0}}), loss("dpo"), 1e-15);
  EXPECT_NEAR(loss("best_of_n"), 0.5, 1e-12);
  const double b = 0.1;
  EXPECT_NEAR(
      loss("mdpo"),
      std::log1p(std::exp(-b)) + std::log1p(std::exp(-b * 1.5)) + std::log1p(std::exp(-b * 0.5)),
      1e-12);
  // KTO's reference point is the perturbed views' mean log-ratio, -1 here: clamped to 0.
  EXPECT_NEAR(
      loss("kto"),
      at0(kto_loss(lp.chosen, lp.rejected, lp.ref_chosen, lp.ref_rejected, 0.0, 0.1, 1.0, 1.0)),
      1e-12);
  const auto pcpo = plugins.optimisers.create("pcpo", nlohmann::json::object(), ctx);
  EXPECT_EQ(pcpo->needs().perturbation, "either");
  EXPECT_EQ(plugins.optimisers.create("pcpo", {{"variant", "code"}}, ctx)->needs().perturbation,
            "code");
  EXPECT_THROW(plugins.optimisers.create("pcpo", {{"variant", "other"}}, ctx), Error);
  EXPECT_THROW(plugins.optimisers.create("dpo", {{"beta", -1.0}}, ctx), Error);
  EXPECT_THROW(plugins.optimisers.create("dpo", {{"gamma", 1.0}}, ctx), Error);
  EXPECT_FALSE(plugins.optimisers.create("none", nlohmann::json::object(), ctx)->needs().trains);
  EXPECT_FALSE(
      plugins.optimisers.create("simpo", nlohmann::json::object(), ctx)->needs().reference);
}
