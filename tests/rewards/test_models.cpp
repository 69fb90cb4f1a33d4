// Every built-in reward model: trains within the budget, answers probabilities, and scores that do
// not depend on the evaluation batch size, on which pairs are asked together, or on padding.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../support/test_util.h"
#include "baselines/register.h"
#include "harness/budget.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "methods/register.h"
#include "reward_fixture.h"
#include "rewards/ad_set.h"
#include "rewards/register.h"

using namespace caig;

namespace {

Plugins& reward_plugins() {
  static Plugins p = [] {
    Plugins q;
    baselines::register_plugins(q);
    methods::register_plugins(q);
    rewards::register_plugins(q);
    return q;
  }();
  return p;
}

struct Sets {
  TrainingSet train;
  rewards::EvalSet eval;
};

const Sets& sets() {
  static Sets s = [] {
    const auto& d = caig::testing::tiny_world_on_disk();
    return Sets{rewards::make_training_set(d, "train", 32), rewards::make_eval_set(d, "test", 32)};
  }();
  return s;
}

std::unique_ptr<RewardModel> trained(const std::string& name, nlohmann::json overrides,
                                     BudgetMeter& meter) {
  static const nlohmann::json experiment = caig::testing::tiny_experiment();
  if (name == "caig") overrides["pretrained"] = false;  // no checkpoint in a unit test
  PluginContext ctx{&experiment, 5};
  auto m = reward_plugins().reward_models.create(name, overrides, ctx, "test");
  if (m->trainable()) {
    TrainContext tc{sets().train, meter, "cpu", 99, {}};
    meter.start();
    m->train(tc);
    meter.stop();
  }
  return m;
}

const std::vector<std::string> kBuiltin = {"caig",   "vam",   "cg4ctr", "lr",     "fm",
                                           "deepfm", "judge", "random", "oracle", "slots_lr"};

}  // namespace

TEST(RewardModels, TrainWithinTheBudgetAndAnswerProbabilities) {
  torch::set_num_threads(1);
  for (const auto& name : kBuiltin) {
    BudgetMeter meter(BudgetLimits{0, 3, 0.0}, "cpu");
    auto m = trained(name, nlohmann::json::object(), meter);
    if (m->trainable()) {
      EXPECT_EQ(meter.steps(), 3) << name;
      EXPECT_GT(meter.samples(), 0) << name;
      EXPECT_EQ(meter.exhausted_by(), "steps") << name;
    }
    const auto p = m->prob_left(sets().eval.ads, sets().eval.pairs);
    ASSERT_EQ(p.size(), sets().eval.pairs.size()) << name;
    for (double v : p) {
      EXPECT_GE(v, 0.0) << name;
      EXPECT_LE(v, 1.0) << name;
    }
    if (m->has_ctr()) {
      const auto c = m->ctr(sets().eval.ads);
      ASSERT_EQ(static_cast<int64_t>(c.size()), sets().eval.ads.size()) << name;
      for (double v : c) EXPECT_TRUE(v >= 0.0 && v <= 1.0) << name << " ctr " << v;
    }
  }
}

TEST(RewardModels, ScoresDoNotDependOnBatchSizeOrGrouping) {
  torch::set_num_threads(1);
  const auto& eval = sets().eval;
  for (const auto& name : kBuiltin) {
    const bool batched = name != "random" && name != "oracle";
    BudgetMeter m1(BudgetLimits{0, 3, 0.0}, "cpu"), m32(BudgetLimits{0, 3, 0.0}, "cpu");
    auto a = trained(
        name, batched ? nlohmann::json{{"eval_batch_size", 1}} : nlohmann::json::object(), m1);
    auto b = trained(
        name, batched ? nlohmann::json{{"eval_batch_size", 32}} : nlohmann::json::object(), m32);
    const auto pa = a->prob_left(eval.ads, eval.pairs);
    const auto pb = b->prob_left(eval.ads, eval.pairs);
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-5) << name << " pair " << i;
    // Asking a pair on its own gives the same answer as asking it among all (padding and
    // neighbours in the batch do not matter).
    for (size_t i = 0; i < std::min<size_t>(pa.size(), 5); ++i) {
      const auto alone = b->prob_left(eval.ads, {eval.pairs[i]});
      EXPECT_NEAR(alone.at(0), pb[i], 1e-5) << name << " pair " << i;
    }
  }
}

TEST(RewardModels, OracleReadsTheTrueCtr) {
  BudgetMeter meter(BudgetLimits{0, 1, 0.0}, "cpu");
  auto m = trained("oracle", nlohmann::json::object(), meter);
  AdSet ads;
  ads.ads.resize(3);
  ads.images = torch::zeros({3, 3, 4, 4}, torch::kUInt8);
  ads.true_ctr = {0.02, 0.03, 0.02};
  const auto p = m->prob_left(ads, {{0, 1}, {1, 0}, {0, 2}});
  EXPECT_LT(p[0], 0.5);
  EXPECT_GT(p[1], 0.5);
  EXPECT_EQ(p[2], 0.5);  // equal CTRs: an exact tie
  ads.true_ctr.clear();
  EXPECT_NE(caig::testing::error_of([&] {
              m->prob_left(ads, {{0, 1}});
            }).find("true CTR"),
            std::string::npos);
}

TEST(RewardModels, RandomDoesNotDependOnWhereTheDatasetLives) {
  BudgetMeter meter(BudgetLimits{0, 1, 0.0}, "cpu");
  auto m = trained("random", nlohmann::json::object(), meter);
  AdSet here, there;
  for (int i = 0; i < 4; ++i) {
    const std::string file = "images/p" + std::to_string(i / 2) + "-c" + std::to_string(i) + ".png";
    here.ads.push_back(
        {"p" + std::to_string(i / 2), "mug", "", {}, "/runs/a.partial-12/data/" + file});
    there.ads.push_back({"p" + std::to_string(i / 2), "mug", "", {}, "/elsewhere/data/" + file});
  }
  here.images = there.images = torch::zeros({4, 3, 4, 4}, torch::kUInt8);
  const std::vector<PairIndex> pairs{{0, 1}, {1, 0}, {2, 3}};
  const auto a = m->prob_left(here, pairs), b = m->prob_left(there, pairs);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], a[2]);  // different pairs, different coins
}

TEST(RewardModels, ConfigErrorsNameTheKey) {
  PluginContext ctx{nullptr, 1};
  const auto msg = caig::testing::error_of([&] {
    reward_plugins().reward_models.create("vam", {{"widht", 3}}, ctx, "exp.toml");
  });
  EXPECT_NE(msg.find("widht"), std::string::npos) << msg;
  EXPECT_NE(msg.find("exp.toml"), std::string::npos) << msg;
  EXPECT_NE(
      caig::testing::error_of([&] { reward_plugins().reward_models.get("vma"); }).find("known:"),
      std::string::npos);
  EXPECT_THROW(reward_plugins().reward_models.create("vam", {{"objective", "pairwise"}}, ctx),
               Error);
}

TEST(RewardModels, CaigNeedsABackboneWhenPretrained) {
  const nlohmann::json experiment = caig::testing::tiny_experiment();
  PluginContext ctx{&experiment, 5};
  auto m = reward_plugins().reward_models.create("caig", nlohmann::json::object(), ctx);
  BudgetMeter meter(BudgetLimits{0, 1, 0.0}, "cpu");
  TrainContext tc{sets().train, meter, "cpu", 1, {}};
  const auto msg = caig::testing::error_of([&] { m->train(tc); });
  EXPECT_NE(msg.find("pretrain"), std::string::npos) << msg;
}

namespace {

// Ads whose only difference is brightness, and pairs labelled "the brighter ad wins": a rule every
// trainable pixel model must pick up within a few hundred steps.
TrainingSet brightness_rule_set(int64_t n_products, uint64_t seed) {
  TrainingSet t;
  torch::manual_seed(seed);
  t.ads.images = torch::empty({2 * n_products, 3, 32, 32}, torch::kUInt8);
  for (int64_t p = 0; p < n_products; ++p) {
    t.products.push_back({2 * p, 2 * p + 1});
    for (int k = 0; k < 2; ++k) {
      const int64_t i = 2 * p + k;
      const double level = k == 0 ? 170.0 : 90.0;
      t.ads.images[i].copy_(
          (torch::randn({3, 32, 32}) * 30.0 + level).clamp(0, 255).to(torch::kUInt8));
      AdInfo a;
      a.product_id = "p" + std::to_string(p);
      a.category = "tea";
      a.title = "green tea";
      t.ads.ads.push_back(a);
      t.impressions.push_back(5000);
      t.clicks.push_back(k == 0 ? 250 : 150);
    }
    const bool bright_left = p % 2 == 0;
    t.pairs.push_back(bright_left ? PairIndex{2 * p, 2 * p + 1} : PairIndex{2 * p + 1, 2 * p});
    t.labels.push_back(bright_left ? 0 : 1);
  }
  return t;
}

}  // namespace

TEST(RewardModels, LearnAPixelRule) {
  torch::set_num_threads(1);
  const nlohmann::json experiment = caig::testing::tiny_experiment();
  const TrainingSet train = brightness_rule_set(96, 1);
  const TrainingSet test = brightness_rule_set(32, 2);
  for (const std::string name : {"caig", "vam"}) {
    nlohmann::json cfg =
        name == "caig" ? nlohmann::json{{"pretrained", false}} : nlohmann::json::object();
    auto m =
        reward_plugins().reward_models.create(name, cfg, PluginContext{&experiment, 3}, "test");
    // The composite model needs a few hundred steps to learn to compare the two halves.
    BudgetMeter meter(BudgetLimits{0, name == "caig" ? 300 : 100, 0.0}, "cpu");
    TrainContext tc{train, meter, "cpu", 4, {}};
    m->train(tc);
    const auto p = m->prob_left(test.ads, test.pairs);
    int correct = 0;
    for (size_t i = 0; i < p.size(); ++i) correct += (p[i] > 0.5) == (test.labels[i] == 0);
    EXPECT_GE(correct, 29) << name << ": " << correct << " of " << p.size();
  }
}

namespace {

// Ads of one category whose CTR depends only on the scene: beach 6%, office 2%.
TrainingSet scene_rule_set() {
  TrainingSet t;
  t.ads.images = torch::zeros({40, 3, 4, 4}, torch::kUInt8);
  for (int64_t i = 0; i < 40; ++i) {
    AdInfo a;
    a.product_id = "p" + std::to_string(i / 2);
    a.category = "tea";
    t.ads.ads.push_back(a);
    const bool beach = i % 2 == 0;
    t.ads.true_slots.push_back({{"scene", beach ? "beach" : "office"}, {"style", "natural"}});
    t.ads.true_ctr.push_back(beach ? 0.06 : 0.02);
    t.impressions.push_back(10000);
    t.clicks.push_back(beach ? 600 : 200);
    if (i % 2 == 1) t.products.push_back({i - 1, i});
  }
  for (int64_t p = 0; p < 20; ++p) {
    t.pairs.push_back({2 * p, 2 * p + 1});
    t.labels.push_back(0);
  }
  return t;
}

}  // namespace

TEST(RewardModels, SlotsLrLearnsWhatTheTrueSlotsExplainAndNeedsThem) {
  torch::set_num_threads(1);
  const nlohmann::json experiment = caig::testing::tiny_experiment();
  auto m = reward_plugins().reward_models.create("slots_lr", nlohmann::json::object(),
                                                 PluginContext{&experiment, 3}, "test");
  EXPECT_TRUE(m->needs_true_ctr());  // skipped on real data
  const TrainingSet t = scene_rule_set();
  BudgetMeter meter(BudgetLimits{0, 300, 0.0}, "cpu");
  TrainContext tc{t, meter, "cpu", 4, {}};
  m->train(tc);
  const auto p = m->prob_left(t.ads, {{0, 1}, {1, 0}, {0, 2}});
  // P(left) = sigmoid(logit 0.06 - logit 0.02) once the fit has reached the logged CTRs.
  auto logit = [](double c) { return std::log(c / (1 - c)); };
  const double expected = 1 / (1 + std::exp(-(logit(0.06) - logit(0.02))));
  EXPECT_NEAR(p[0], expected, 0.03);
  EXPECT_NEAR(p[1], 1 - expected, 0.03);
  EXPECT_DOUBLE_EQ(p[2], 0.5);  // the same slots and category: the same score
  // The fitted CTRs approach the logged ones (binomial log-likelihood).
  const auto c = m->ctr(t.ads);
  EXPECT_NEAR(c[0], 0.06, 0.01);
  EXPECT_NEAR(c[1], 0.02, 0.005);
  EXPECT_TRUE(m->info().contains("privileged"));
  AdSet no_truth = t.ads;
  no_truth.true_slots.clear();
  const auto msg = caig::testing::error_of([&] { m->prob_left(no_truth, {{0, 1}}); });
  EXPECT_NE(msg.find("true background slots"), std::string::npos) << msg;
}

// AnyRes tiles: each ad goes through the encoder on the positions of a single ad, so a backbone
// whose positional grid holds one ad (2 x 2 patches) reads a two-ad composite; without tiles the
// composite needs a grid twice as wide. The trace records the training's losses and gradients.
TEST(RewardModels, CaigTilesReadCompositesOnASingleAdsPositions) {
  torch::set_num_threads(1);
  nlohmann::json experiment = caig::testing::tiny_experiment();
  experiment["backbone"]["max_grid_w"] = 2;
  for (const bool tiles : {true, false}) {
    auto m = reward_plugins().reward_models.create(
        "caig", {{"pretrained", false}, {"tiles", tiles}, {"trace_every", 1}},
        PluginContext{&experiment, 3}, "test");
    BudgetMeter meter(BudgetLimits{0, 2, 0.0}, "cpu");
    TrainContext tc{sets().train, meter, "cpu", 4, {}};
    if (!tiles) {
      const auto msg = caig::testing::error_of([&] { m->train(tc); });
      EXPECT_NE(msg.find("positional grid"), std::string::npos) << msg;
      continue;
    }
    m->train(tc);
    const auto trace = m->info().at("trace");
    ASSERT_EQ(trace.size(), 2u);
    for (const char* k : {"loss", "ce", "mse", "p_left_sd", "grad_norm_backbone", "grad_norm_new"})
      EXPECT_TRUE(trace[0].contains(k)) << k;
    EXPECT_GT(trace[0]["grad_norm_new"].get<double>(), 0.0);
    const auto p = m->prob_left(sets().eval.ads, sets().eval.pairs);
    EXPECT_EQ(p.size(), sets().eval.pairs.size());
  }
}
