// The CTR-driven loop: its renderer reproduces the logged ads, the world's prompt models sample
// what they claim, iteration 0 reproduces pretraining's match rate, an arm trains
// deterministically, and the patch mask and the external renderer behave.
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "../rewards/reward_fixture.h"
#include "../support/test_util.h"
#include "baselines/register.h"
#include "datasets/register.h"
#include "datasets/renderer_plugin.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "methods/backbone/options.h"
#include "methods/pretraining/image_bank.h"
#include "methods/pretraining/pretrainer.h"
#include "optimisation/ctr_loop.h"
#include "optimisation/loop_products.h"
#include "optimisers/optimiser.h"
#include "optimisers/register.h"
#include "prompts/prompt_model.h"
#include "prompts/register.h"
#include "rewards/register.h"
#include "rewards/reward_model.h"

using namespace caig;
namespace fs = std::filesystem;

namespace {

Plugins& test_plugins() {
  static Plugins p = [] {
    Plugins q;
    datasets::register_plugins(q);
    rewards::register_plugins(q);
    baselines::register_plugins(q);
    prompts::register_plugins(q);
    optimisers::register_plugins(q);
    return q;
  }();
  return p;
}

const data::Dataset& dataset() { return caig::testing::tiny_world_on_disk(); }

const world::ShopWorld& the_world() {
  static auto w = optimisation::dataset_world(dataset());
  return *w;
}

pretraining::PretrainOptions pretrain_options() {
  pretraining::PretrainOptions o;
  o.batch_size = 8;
  o.max_steps = 6;
  o.max_device_seconds = 0;
  o.warmup_steps = 1;
  o.schedule_probe_steps = 0;
  o.eval_every = 6;
  o.eval_examples = 8;
  o.sample_products = 10;
  o.samples_per_product = 2;
  o.slot_head_ads = 0;
  return o;
}

constexpr uint64_t kPretrainSeed = 5;

// A tiny pretrained backbone (and its final metrics), once per process.
const fs::path& checkpoint(nlohmann::json* metrics = nullptr) {
  static nlohmann::json m;
  static fs::path dir = [] {
    const auto out = caig::testing::process_temp_dir() / "loop_backbone";
    fs::remove_all(out);
    auto b = caig::testing::tiny_experiment()["backbone"];
    b["max_text_len"] = 64;  // a prompt and 24 sampled tokens
    const auto bo = backbone::BackboneOptions::from_json(b);
    const pretraining::ImageBank bank(dataset(), bo.image_size);
    m = pretraining::pretrain(dataset(), bank, bo, pretrain_options(), "cpu", kPretrainSeed, out,
                              false)
            .metrics;
    return out;
  }();
  if (metrics) *metrics = m;
  return dir;
}

std::unique_ptr<PromptModel> prompt_model(const std::string& name) {
  auto pm = test_plugins().prompt_models.create(name, nlohmann::json::object(), {nullptr, 0});
  PromptModelContext ctx;
  ctx.pretrained_checkpoint = checkpoint();
  ctx.world = dataset().world;
  pm->setup(ctx);
  return pm;
}

std::unique_ptr<Renderer> procedural() {
  return test_plugins().renderers.create("procedural", {{"image_size", 32}}, {nullptr, 0});
}

struct Arm {
  std::unique_ptr<PromptModel> policy;
  std::unique_ptr<Optimiser> optimiser;
  std::unique_ptr<RewardModel> judge;
  std::unique_ptr<Renderer> renderer = procedural();
  optimisation::LoopParts parts() {
    return {*policy, *optimiser, *judge, *renderer, &the_world(), 0.5, true, "cpu", fs::path()};
  }
};

Arm arm(const std::string& pm, const std::string& optimiser, const std::string& judge) {
  Arm a;
  a.policy = prompt_model(pm);
  a.optimiser = test_plugins().optimisers.create(optimiser, nlohmann::json::object(), {nullptr, 0});
  a.judge = test_plugins().reward_models.create(judge, nlohmann::json::object(), {nullptr, 3});
  return a;
}

std::vector<optimisation::LoopProduct> products(const std::string& split, int64_t n) {
  return optimisation::loop_products(dataset(), split, n, 1, 32, &the_world());
}

}  // namespace

TEST(LoopProducts, TheRendererAndTheWorldReproduceTheLoggedAds) {
  const auto& d = dataset();
  const auto ps = products("train", 5);
  auto r = procedural();
  int checked = 0;
  for (const auto& p : ps)
    for (const auto& c : d.creatives) {
      if (c.product_id != p.ad.product_id) continue;
      auto ad = r->render(p.rgba, c.description, c.render_seed);
      const cv::Mat logged = cv::imread((d.root / c.image).string(), cv::IMREAD_COLOR);
      ASSERT_EQ(cv::norm(ad.image, logged, cv::NORM_INF), 0.0) << c.creative_id;
      const auto scored = the_world().score_ad(*p.world, c.description, c.render_seed, ad);
      EXPECT_DOUBLE_EQ(scored.terms.ctr(), *c.true_ctr) << c.creative_id;
      ++checked;
    }
  EXPECT_GT(checked, 5);
}

TEST(LoopProducts, ProductsWithoutACutOutAreAnError) {
  auto d = dataset();
  for (auto& c : d.creatives) c.product_image.clear();
  EXPECT_NE(caig::testing::error_of([&] {
              optimisation::loop_products(d, "train", 3, 1, 32, nullptr);
            }).find("has no product cut-out"),
            std::string::npos);
}

TEST(PromptModels, TemplateSamplesTheDesignersAndRandomFillsEverySlot) {
  const auto ps = products("train", 0);
  std::vector<PromptProduct> in;
  for (const auto& p : ps) in.push_back(p.prompt);
  for (const std::string name : {"template", "random"}) {
    auto pm = prompt_model(name);
    EXPECT_FALSE(pm->trainable());
    const auto s = pm->sample(in, 4, {}, 9);
    ASSERT_EQ(s.size(), in.size() * 4);
    int64_t matched = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const auto& p = *ps[i / 4].world;
      const auto parsed = world::parse_description(s[i].text);
      EXPECT_TRUE(parsed.well_formed()) << s[i].text;
      matched += the_world().judge(p, parsed);
    }
    const double rate = static_cast<double>(matched) / static_cast<double>(s.size());
    if (name == "template") {
      EXPECT_NEAR(rate, the_world().config().rho, 0.06);
    } else {
      EXPECT_LT(rate, 0.6);
    }
    EXPECT_EQ(pm->sample(in, 4, {}, 9)[7].text, s[7].text);  // a pure function of the seed
  }
}

TEST(CtrLoop, IterationZeroReproducesPretrainingsMatchRate) {
  nlohmann::json pre;
  checkpoint(&pre);
  const auto opt = pretrain_options();
  auto a = arm("caig", "none", "random");
  optimisation::LoopOptions o;
  o.iterations = 0;
  o.eval_split = "val";
  o.eval_products = opt.sample_products;
  o.eval_samples_per_product = opt.samples_per_product;
  o.sample_batch_size = opt.batch_size;
  const uint64_t eval_seed = derive_seed(kPretrainSeed, "eval");
  const auto eval =
      optimisation::loop_products(dataset(), "val", o.eval_products, eval_seed, 32, &the_world());
  auto parts = a.parts();
  const auto r = optimisation::run_loop(parts, products("train", 0), eval, o, 1, eval_seed, "t");
  ASSERT_EQ(r.iterations.size(), 1u);
  const auto& mine = r.iterations[0]["match"];
  const auto& theirs = pre["sampled_descriptions"];
  EXPECT_EQ(mine["samples"], theirs["samples"]);
  EXPECT_DOUBLE_EQ(mine["match_rate"].get<double>(), theirs["match_rate"].get<double>());
  EXPECT_DOUBLE_EQ(mine["well_formed_rate"].get<double>(),
                   theirs["well_formed_rate"].get<double>());
  EXPECT_EQ(mine["match_rate_interval"], theirs["match_rate_interval"]);
  // Policy and reference are the same model before any training: no KL, and an even proxy.
  EXPECT_DOUBLE_EQ(r.iterations[0]["kl"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(r.iterations[0]["proxy_win_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(r.iterations[0]["gold_win_rate"].get<double>(), 0.5);
}

TEST(CtrLoop, DpoWithTheOracleJudgeTrainsDeterministically) {
  optimisation::LoopOptions o;
  o.iterations = 2;
  o.products_per_iteration = 12;
  o.batch_size = 4;
  o.lr = 1e-3;
  o.eval_products = 6;
  o.bootstrap = 20;
  auto run = [&](const std::string& optimiser) {
    auto a = arm("caig", optimiser, "oracle");
    auto parts = a.parts();
    return optimisation::run_loop(parts, products("train", 0), products("test", 6), o, 4, 8, "t");
  };
  const auto r = run("dpo");
  ASSERT_EQ(r.iterations.size(), 3u);
  for (int it = 1; it <= 2; ++it) {
    const auto& t = r.iterations[it]["train"];
    EXPECT_EQ(t["pairs"].get<int64_t>() + t["ties"].get<int64_t>() + t["identical"].get<int64_t>(),
              12);
    EXPECT_EQ(t["steps"].get<int64_t>(), (t["pairs"].get<int64_t>() + 3) / 4);
    // The oracle judges by the true CTR: it agrees with the world on every pair it decides.
    EXPECT_DOUBLE_EQ(t["judge_gold_agreement"].get<double>(), 1.0);
    EXPECT_TRUE(std::isfinite(t["loss"].get<double>()));
  }
  EXPECT_NE(r.iterations[2]["kl"].get<double>(), 0.0);  // the policy moved
  EXPECT_EQ(r.records.size(), 24u);
  EXPECT_EQ(r.spent["optimiser_steps"].get<int64_t>(),
            r.iterations[1]["train"]["steps"].get<int64_t>() +
                r.iterations[2]["train"]["steps"].get<int64_t>());
  EXPECT_EQ(run("dpo").iterations, r.iterations);  // same seed, same rows
  // Every family member runs one arm of the same loop.
  for (const std::string name : {"pcpo", "kto", "mdpo", "simpo", "orpo", "best_of_n"}) {
    const auto q = run(name);
    EXPECT_EQ(q.iterations.size(), 3u) << name;
    EXPECT_TRUE(std::isfinite(q.iterations[2]["train"]["loss"].get<double>())) << name;
  }
}

TEST(CtrLoop, BadArmsAreErrors) {
  optimisation::LoopOptions o;
  o.iterations = 1;
  auto a = arm("template", "dpo", "random");
  auto parts = a.parts();
  EXPECT_NE(caig::testing::error_of([&] {
              optimisation::run_loop(parts, products("train", 0), products("test", 4), o, 1, 1,
                                     "t");
            }).find("not trainable"),
            std::string::npos);
  o.samples_per_product = 3;
  auto b = arm("caig", "dpo", "random");
  auto bparts = b.parts();
  EXPECT_NE(caig::testing::error_of([&] {
              optimisation::run_loop(bparts, products("train", 0), products("test", 4), o, 1, 1,
                                     "t");
            }).find("samples_per_product = 2"),
            std::string::npos);
  o.samples_per_product = 1;
  EXPECT_THROW(o.check(), Error);
}

TEST(CtrLoop, MaskPatchesBlacksOutTheAskedShare) {
  const auto image = torch::ones({3, 32, 32});
  const auto m = optimisation::mask_patches(image, 8, 0.75, 3);
  // 16 patches of 8 x 8: 12 blacked out.
  EXPECT_DOUBLE_EQ(m.sum().item<double>(), 3.0 * 4 * 64);
  EXPECT_TRUE(m.equal(optimisation::mask_patches(image, 8, 0.75, 3)));
  EXPECT_FALSE(m.equal(optimisation::mask_patches(image, 8, 0.75, 4)));
  EXPECT_DOUBLE_EQ(optimisation::mask_patches(image, 8, 1.0, 3).sum().item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(image.sum().item<double>(), 3.0 * 1024);  // the input is untouched
}

namespace {

std::string python() {
  for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3"})
    if (fs::exists(p)) return p;
  return "";
}

std::unique_ptr<Renderer> external(std::vector<std::string> extra, double timeout = 20) {
  std::vector<std::string> cmd = {
      python(), std::string(CAIG_SOURCE_DIR) + "/examples/external_renderer/stand_in_renderer.py"};
  cmd.insert(cmd.end(), extra.begin(), extra.end());
  return test_plugins().renderers.create(
      "external", {{"command", cmd}, {"timeout_seconds", timeout}, {"image_size", 32}},
      {nullptr, 0});
}

}  // namespace

TEST(ExternalRenderer, RendersThroughTheProtocol) {
  if (python().empty()) GTEST_SKIP() << "python3 is not installed";
  const auto ps = products("train", 2);
  auto r = external({});
  const auto ads =
      r->render_all({{&ps[0].rgba, "soft minimal studio scene, white tones, no props", 1},
                     {&ps[1].rgba, "neon dynamic gym scene, red tones, confetti", 2}});
  ASSERT_EQ(ads.size(), 2u);
  EXPECT_EQ(ads[0].image.rows, 32);
  EXPECT_EQ(ads[0].image.type(), CV_8UC3);
  EXPECT_GT(cv::countNonZero(ads[0].mask), 0);  // the placed product's mask
  EXPECT_GT(cv::norm(ads[0].image, ads[1].image, cv::NORM_INF), 0.0);
  // The same request twice gives the same ad.
  const auto again = r->render(ps[0].rgba, "soft minimal studio scene, white tones, no props", 1);
  EXPECT_EQ(cv::norm(again.image, ads[0].image, cv::NORM_INF), 0.0);
}

TEST(ExternalRenderer, FailuresNameTheRequest) {
  if (python().empty()) GTEST_SKIP() << "python3 is not installed";
  const auto ps = products("train", 1);
  auto err = [&](std::vector<std::string> extra, double timeout = 20) {
    auto r = external(std::move(extra), timeout);
    return caig::testing::error_of([&] { r->render(ps[0].rgba, "a description", 7); });
  };
  EXPECT_NE(err({"--crash-after", "0"}).find("crashing as asked"), std::string::npos);
  EXPECT_NE(err({"--hang"}, 1).find("external renderer"), std::string::npos);
  const auto missing = err({"--no-image"});
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
  EXPECT_NE(missing.find("a description"), std::string::npos) << missing;
  EXPECT_NE(err({"--half-size"}).find("16 x 16, not 32 x 32"), std::string::npos);
  EXPECT_THROW(test_plugins().renderers.create("external", nlohmann::json::object(), {nullptr, 0}),
               Error);
}
