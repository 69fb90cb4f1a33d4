// The `ab_test` stage, the paper's third result: a simulated online A/B test. Every arm writes the
// ads of the same held-out products (two per product by default, as in the paper's test); every
// product gets the same impressions in every arm, from its category's traffic share over the
// period; clicks are Binomial from the world's true CTR with common random numbers, so arms differ
// by their ads, not by their luck. Reported per arm: CTR, the relative lift over the control with
// a 95% interval, the noise-free expected lift, the share of mismatched backgrounds, overall, over
// the five common categories and per category (metrics/ab_summary.h).
//
// An arm is a prompt model as configured (`prompt_model`; `caig` is the pretrained backbone),
// a prompt model the optimise stage trained and kept (`optimise_arm`: any prompt model x
// optimiser x judge x renderer of that stage), or the logged designers' creatives
// (`designers = true`). Each arm's ads are kept in `arms/<name>.json` as it finishes, so an
// interrupted stage resumes at the first arm it had not finished.
#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "datasets/renderer_plugin.h"
#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/budget.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/image_tensor.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "harness/trainer.h"
#include "metrics/ab_summary.h"
#include "optimisation/loop_products.h"
#include "prompts/prompt_model.h"
#include "rewards/benchmark.h"
#include "rewards/reward_model.h"
#include "stages/register.h"
#include "stages/stage_data.h"

namespace fs = std::filesystem;

namespace caig::stages {

namespace {

struct AbOptions {
  std::string data;  // empty: the world stage's
  std::string control = "control";
  std::string split = "test";
  int64_t products = 0;  // 0: every product of the split
  int64_t ads_per_product = 2;
  int64_t days = 7;
  int64_t impressions_per_day = 200000;  // over all the test's products, per arm
  double temperature = 1.0;
  int64_t max_new_tokens = 24;
  int64_t sample_batch_size = 32;
  std::string renderer = "procedural";
  std::string ci = "bootstrap";  // or "delta" (metrics/ab_test.h)
  int64_t bootstrap = 1000;
  int64_t optimise_seed = 0;  // which of the optimise stage's kept models an optimise arm loads
  // The gallery (the paper's qualitative figure): every arm's ads of this many test products per
  // common category, scored by gallery_judge (empty: no scores) of judge_variant (empty:
  // commercial, or public without text).
  int64_t gallery_products = 2;
  std::string gallery_judge = "caig";
  std::string judge_variant;
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("data", o.data);
    f("control", o.control);
    f("split", o.split);
    f("products", o.products);
    f("ads_per_product", o.ads_per_product);
    f("days", o.days);
    f("impressions_per_day", o.impressions_per_day);
    f("temperature", o.temperature);
    f("max_new_tokens", o.max_new_tokens);
    f("sample_batch_size", o.sample_batch_size);
    f("renderer", o.renderer);
    f("ci", o.ci);
    f("bootstrap", o.bootstrap);
    f("optimise_seed", o.optimise_seed);
    f("gallery_products", o.gallery_products);
    f("gallery_judge", o.gallery_judge);
    f("judge_variant", o.judge_variant);
  }
  void check() const {
    if (ads_per_product < 1) fail("stages.ab_test.ads_per_product must be >= 1");
    if (days < 1 || impressions_per_day < 0)
      fail("stages.ab_test: days must be >= 1 and impressions_per_day >= 0");
    if (ci != "bootstrap" && ci != "delta")
      fail("stages.ab_test.ci must be bootstrap or delta, got '{}'", ci);
    if (bootstrap < 1) fail("stages.ab_test.bootstrap must be >= 1");
    if (gallery_products < 0) fail("stages.ab_test.gallery_products must be >= 0");
    if (sample_batch_size < 1 || max_new_tokens < 1)
      fail("stages.ab_test: sample_batch_size and max_new_tokens must be >= 1");
  }
};

struct AbArmSpec {
  std::string name;
  std::string prompt_model;  // a prompt-model plugin
  std::string optimise_arm;  // an arm of the optimise stage
  bool designers = false;    // the logged creatives
};

std::vector<AbArmSpec> parse_ab_arms(const nlohmann::json& arms) {
  if (!arms.is_array() || arms.empty())
    fail("stages.ab_test.arms must be a non-empty array of tables");
  std::vector<AbArmSpec> out;
  for (size_t i = 0; i < arms.size(); ++i) {
    const auto& a = arms[i];
    const std::string where = fmt::format("stages.ab_test.arms[{}]", i);
    if (!a.is_object()) fail("{} must be a table", where);
    AbArmSpec s;
    for (const auto& [k, v] : a.items()) {
      if (k == "name" && v.is_string())
        s.name = v.get<std::string>();
      else if (k == "prompt_model" && v.is_string())
        s.prompt_model = v.get<std::string>();
      else if (k == "optimise_arm" && v.is_string())
        s.optimise_arm = v.get<std::string>();
      else if (k == "designers" && v.is_boolean())
        s.designers = v.get<bool>();
      else
        fail(
            "{}: unknown key or wrong type '{}' = {} (keys: name, prompt_model, optimise_arm, "
            "designers)",
            where, k, v.dump());
    }
    const int sources = !s.prompt_model.empty() + !s.optimise_arm.empty() + s.designers;
    if (sources != 1)
      fail("{}: give exactly one of prompt_model, optimise_arm or designers = true", where);
    if (!s.prompt_model.empty() && !plugins().prompt_models.contains(s.prompt_model))
      fail("{}: unknown prompt model '{}'; known: {}", where, s.prompt_model,
           fmt::join(plugins().prompt_models.names(), ", "));
    if (s.name.empty())
      s.name = s.designers               ? "designers"
               : !s.optimise_arm.empty() ? s.optimise_arm
                                         : s.prompt_model;
    for (const auto& o : out)
      if (o.name == s.name) fail("{}: a second arm named '{}'", where, s.name);
    out.push_back(s);
  }
  return out;
}

// Which products the gallery shows, and who scores their ads.
struct Gallery {
  const std::vector<bool>& in;  // per test product
  RewardModel* judge = nullptr;
  fs::path dir;  // <stage>/gallery
  std::string variant;
};

// A gallery ad of one arm: global ad index (product-major), its image and the world's match.
struct GalleryAd {
  size_t index = 0;
  cv::Mat image;  // BGR
  double match = 0;
};

// The arm's gallery ads written as gallery/<arm>/<product>-<ad>.png and described with what the
// paper's figure captions: description, match, true CTR, and the judge's score, the probability
// that the ad beats the product's other ads of the arm (both orders averaged; null with one ad
// per product or no judge).
nlohmann::json gallery_entries(const std::string& arm,
                               const std::vector<optimisation::LoopProduct>& products, int64_t k,
                               const std::vector<GalleryAd>& ads,
                               const nlohmann::json& descriptions, const std::vector<double>& ctr,
                               const std::vector<bool>& matched, bool has_text, const Gallery& g) {
  nlohmann::json out = nlohmann::json::array();
  if (ads.empty()) return out;
  const fs::path dir = g.dir / arm;
  fs::create_directories(dir);
  AdSet set;
  set.has_text = has_text && g.variant != "public";
  std::vector<at::Tensor> images;
  std::vector<std::string> files;
  for (const auto& a : ads) {
    const auto& p = products[a.index / static_cast<size_t>(k)];
    files.push_back(
        fmt::format("{}-{}.png", p.prompt.product_id, a.index % static_cast<size_t>(k)));
    const fs::path file = dir / files.back();
    if (!cv::imwrite(file.string(), a.image)) fail("arm '{}': cannot write {}", arm, file.string());
    AdInfo info = p.ad;
    info.image_path = fs::absolute(file);
    set.ads.push_back(info);
    set.true_ctr.push_back(ctr[a.index]);
    images.push_back(bgr_image_tensor(a.image));
  }
  set.images = torch::stack(images);
  std::vector<double> score(ads.size(), -1.0);
  if (g.judge) {
    std::vector<PairIndex> pairs;
    for (size_t x = 0; x < ads.size(); ++x)
      for (size_t y = 0; y < ads.size(); ++y)
        if (x != y &&
            ads[x].index / static_cast<size_t>(k) == ads[y].index / static_cast<size_t>(k))
          pairs.push_back({static_cast<int64_t>(x), static_cast<int64_t>(y)});
    if (!pairs.empty()) {
      const auto p = g.judge->prob_left(set, pairs);
      if (p.size() != pairs.size())
        fail("gallery judge: {} probabilities for {} pairs", p.size(), pairs.size());
      std::map<std::pair<int64_t, int64_t>, double> prob;
      for (size_t q = 0; q < pairs.size(); ++q) {
        if (!(p[q] >= 0 && p[q] <= 1)) fail("gallery judge: P = {}, outside [0, 1]", p[q]);
        prob[{pairs[q].left, pairs[q].right}] = p[q];
      }
      std::vector<double> sum(ads.size(), 0.0);
      std::vector<int> n(ads.size(), 0);
      for (const auto& q : pairs) {
        sum[static_cast<size_t>(q.left)] +=
            0.5 * (prob[{q.left, q.right}] + 1.0 - prob[{q.right, q.left}]);
        ++n[static_cast<size_t>(q.left)];
      }
      for (size_t x = 0; x < ads.size(); ++x)
        if (n[x] > 0) score[x] = sum[x] / n[x];
    }
  }
  for (size_t x = 0; x < ads.size(); ++x) {
    const size_t i = ads[x].index;
    const auto& p = products[i / static_cast<size_t>(k)];
    out.push_back({{"product_id", p.prompt.product_id},
                   {"category", p.prompt.category},
                   {"ad", i % static_cast<size_t>(k)},
                   {"description", descriptions[i]},
                   {"match", ads[x].match},
                   {"matched", static_cast<bool>(matched[i])},
                   {"true_ctr", ctr[i]},
                   {"judge_score", score[x] >= 0 ? nlohmann::json(score[x]) : nlohmann::json()},
                   {"image", "gallery/" + arm + "/" + files[x]}});
  }
  return out;
}

class AbTestStage : public Stage {
 public:
  AbTestStage(nlohmann::json cfg, const nlohmann::json& experiment)
      : cfg_(std::move(cfg)), opt_(fields_from_json<AbOptions>(cfg_, "stages.ab_test", true)) {
    opt_.check();
    arms_ = parse_ab_arms(cfg_.at("arms"));
    if (std::none_of(arms_.begin(), arms_.end(),
                     [&](const AbArmSpec& a) { return a.name == opt_.control; }))
      fail("stages.ab_test.control '{}' is not an arm (arms: {})", opt_.control, [&] {
        std::vector<std::string> n;
        for (const auto& a : arms_) n.push_back(a.name);
        return fmt::format("{}", fmt::join(n, ", "));
      }());
    if (!plugins().renderers.contains(opt_.renderer))
      fail("stages.ab_test.renderer: unknown renderer '{}'", opt_.renderer);
    if (opt_.gallery_products > 0 && !opt_.gallery_judge.empty() &&
        rewards::create_reward_model(experiment, opt_.gallery_judge, 0)->trainable())
      reads_judge_ = true;
    for (const auto& a : arms_) {
      if (!a.optimise_arm.empty()) reads_optimise_ = a.name;
      if (!a.prompt_model.empty() &&
          make_prompt_model(experiment, a.prompt_model, "")->needs_pretrained_backbone())
        reads_pretrain_ = a.name;
    }
  }

  std::vector<ArtifactRef> reads() const override {
    std::vector<ArtifactRef> r;
    if (opt_.data.empty())
      r.push_back(
          {"world", "data", "the test products and their world; or set stages.ab_test.data"});
    if (!reads_pretrain_.empty())
      r.push_back({"pretrain", "checkpoint",
                   "arm '" + reads_pretrain_ + "' samples from the pretrained prompt model"});
    if (!reads_optimise_.empty())
      r.push_back({"optimise", "models",
                   "arm '" + reads_optimise_ + "' is a prompt model the optimise stage kept"});
    if (reads_judge_)
      r.push_back({"reward_accuracy", "models",
                   "the gallery's judge '" + opt_.gallery_judge + "' is a trained reward model"});
    return r;
  }
  std::vector<std::string> writes() const override { return {"arms", "gallery"}; }
  std::vector<std::string> config_keys() const override {
    return {"prompt_models", "renderers", "reward_models", "world.image_size",
            "world.match_threshold"};
  }
  bool resumable() const override { return true; }

  void run(StageContext& ctx) override {
    const auto& experiment = ctx.experiment();
    const fs::path data = opt_.data.empty() ? ctx.input("world", "data") : fs::path(opt_.data);
    const data::Dataset d = load_stage_dataset(data, experiment, ctx.seed(), "stages.ab_test.data");
    const auto world = optimisation::dataset_world(d);
    if (!world)
      fail(
          "stages.ab_test: {} has no world: the A/B simulation draws clicks from the simulator's "
          "true CTR, so it needs a ShopWorld dataset",
          data.string());
    const int64_t image_size = rewards::dataset_image_size(d, experiment);
    const double threshold = d.world.at("config").at("match_threshold").get<double>();
    const uint64_t seed = derive_seed(ctx.seed(), "ab_test");
    const auto products = optimisation::loop_products(
        d, opt_.split, opt_.products, derive_seed(seed, "products"), image_size, world.get());
    if (products.empty()) fail("stages.ab_test: no products in split '{}'", opt_.split);

    // Traffic: each category's share of the period's impressions, even over its products.
    std::map<std::string, double> share;
    for (const auto& c : world::categories()) share[c.name] = c.traffic_share;
    std::vector<std::string> cats;
    for (const auto& p : products) cats.push_back(p.prompt.category);
    const auto impressions =
        metrics::allocate_impressions(cats, share, opt_.days * opt_.impressions_per_day);
    std::vector<metrics::AbProduct> ab_products;
    for (size_t i = 0; i < products.size(); ++i)
      ab_products.push_back({products[i].prompt.product_id, cats[i], impressions[i]});

    // The gallery's products: the first of each common category in the seeded order.
    std::vector<bool> in_gallery(products.size(), false);
    std::vector<std::string> common;
    for (int c : world::common_categories())
      common.push_back(world::categories()[static_cast<size_t>(c)].name);
    for (const auto& c : common) {
      int64_t n = 0;
      for (size_t i = 0; i < products.size() && n < opt_.gallery_products; ++i)
        if (cats[i] == c) in_gallery[i] = true, ++n;
    }
    const std::string variant = !opt_.judge_variant.empty() ? opt_.judge_variant
                                : d.has_text                ? "commercial"
                                                            : "public";
    std::unique_ptr<RewardModel> judge;
    if (opt_.gallery_products > 0 && !opt_.gallery_judge.empty())
      judge = stage_judge(ctx, opt_.gallery_judge, variant, 0, derive_seed(seed, "gallery_judge"),
                          "stages.ab_test.gallery_judge");
    Gallery gallery{in_gallery, judge.get(), ctx.output("gallery"), variant};
    fs::create_directories(gallery.dir);

    const fs::path results = ctx.output("arms");
    fs::create_directories(results);
    std::vector<metrics::AbArm> arms;
    nlohmann::json arm_info = nlohmann::json::array(), gallery_rows = nlohmann::json::array();
    for (const auto& a : arms_) {
      const fs::path file = results / (a.name + ".json");
      nlohmann::json r;
      if (fs::exists(file)) {
        r = read_json(file);  // finished before an interruption
      } else {
        r = run_arm(ctx, a, d, *world, products, threshold, image_size, seed, gallery);
        write_json_atomic(file, r);
      }
      ctx.spend(a.name, r.at("spent"));
      metrics::AbArm arm;
      arm.name = a.name;
      arm.true_ctr = r.at("true_ctr").get<std::vector<double>>();
      arm.matched = r.at("matched").get<std::vector<bool>>();
      metrics::draw_clicks(ab_products, opt_.ads_per_product, derive_seed(seed, "clicks"), arm);
      const auto& descriptions = r.at("descriptions");
      for (size_t i = 0; i < arm.true_ctr.size(); ++i) {
        const size_t p = i / static_cast<size_t>(opt_.ads_per_product);
        ctx.records.push_back({{"arm", a.name},
                               {"product_id", ab_products[p].product_id},
                               {"category", ab_products[p].category},
                               {"ad", i % static_cast<size_t>(opt_.ads_per_product)},
                               {"description", descriptions[i]},
                               {"true_ctr", arm.true_ctr[i]},
                               {"matched", static_cast<bool>(arm.matched[i])},
                               {"impressions", metrics::ad_impressions(
                                                   ab_products[p].impressions, opt_.ads_per_product,
                                                   static_cast<int64_t>(i) % opt_.ads_per_product)},
                               {"clicks", arm.clicks[i]}});
      }
      gallery_rows.push_back({{"arm", a.name}, {"ads", r.at("gallery")}});
      arm_info.push_back({{"name", a.name},
                          {"source", a.designers               ? "designers"
                                     : !a.optimise_arm.empty() ? "optimise arm " + a.optimise_arm
                                                               : "prompt model " + a.prompt_model},
                          {"info", r.at("info")}});
      arms.push_back(std::move(arm));
    }

    metrics::AbOptions so;
    so.control = opt_.control;
    so.ci = opt_.ci;
    so.replicates = static_cast<int>(opt_.bootstrap);
    so.seed = derive_seed(seed, "bootstrap");
    so.common = common;
    auto summary = metrics::summarise_ab_test(ab_products, opt_.ads_per_product, arms, so);
    for (size_t i = 0; i < arms.size(); ++i) {
      summary["arms"][i]["source"] = arm_info[i]["source"];
      summary["arms"][i]["info"] = arm_info[i]["info"];
    }
    summary["options"] = fields_to_json(opt_);
    summary["products"] = products.size();
    summary["impressions_per_arm"] = opt_.days * opt_.impressions_per_day;
    summary["match_threshold"] = threshold;
    summary["simulated"] = true;
    summary["gallery"] = {
        {"judge", opt_.gallery_judge},
        {"judge_variant", variant},
        {"score", "P(the ad beats the product's other ads of its arm), both orders"},
        {"arms", gallery_rows}};
    ctx.metrics = summary;
  }

 private:
  static std::unique_ptr<PromptModel> make_prompt_model(const nlohmann::json& experiment,
                                                        const std::string& name,
                                                        const fs::path& checkpoint) {
    auto cfg = experiment_section(experiment, "prompt_models", name);
    if (!checkpoint.empty()) cfg["checkpoint"] = checkpoint.string();
    return plugins().prompt_models.create(name, cfg, PluginContext{&experiment, 0},
                                          "prompt_models." + name);
  }

  // One arm's ads: {descriptions, true_ctr, matched, info, spent}, product-major.
  nlohmann::json run_arm(StageContext& ctx, const AbArmSpec& a, const data::Dataset& d,
                         const world::ShopWorld& w,
                         const std::vector<optimisation::LoopProduct>& products, double threshold,
                         int64_t image_size, uint64_t seed, const Gallery& gallery) const {
    BudgetMeter meter({0, 0, 0.0}, ctx.device());
    BudgetMeter::Scope scope(meter);
    const auto k = opt_.ads_per_product;
    nlohmann::json descriptions = nlohmann::json::array(), info = nlohmann::json::object();
    std::vector<double> ctr;
    std::vector<bool> matched;
    std::vector<GalleryAd> shown;
    auto shows = [&](size_t ad) { return gallery.in[ad / static_cast<size_t>(k)]; };
    if (a.designers) {
      // k of the product's logged creatives, drawn by the seed (the same for every run).
      std::map<std::string, std::vector<size_t>> logged;
      for (size_t i = 0; i < d.creatives.size(); ++i)
        logged[d.creatives[i].product_id].push_back(i);
      for (const auto& p : products) {
        auto& list = logged[p.prompt.product_id];
        if (static_cast<int64_t>(list.size()) < k)
          fail("arm '{}': product {} has {} logged creatives, fewer than ads_per_product = {}",
               a.name, p.prompt.product_id, list.size(), k);
        const auto order =
            seeded_permutation(list.size(), derive_seed(seed, "designers" + p.prompt.product_id));
        for (int64_t j = 0; j < k; ++j) {
          const auto& c = d.creatives[list[order[static_cast<size_t>(j)]]];
          if (!c.true_ctr || !c.match)
            fail("arm '{}': creative {} has no true CTR or match (not simulated data)", a.name,
                 c.creative_id);
          if (shows(ctr.size())) {
            const fs::path file = d.root / c.image;
            cv::Mat image = cv::imread(file.string(), cv::IMREAD_COLOR);
            if (image.empty())
              fail("arm '{}': cannot read creative {}'s image {}", a.name, c.creative_id,
                   file.string());
            shown.push_back({ctr.size(), image, *c.match});
          }
          descriptions.push_back(c.description);
          ctr.push_back(*c.true_ctr);
          matched.push_back(*c.match >= threshold);
        }
      }
      meter.add_samples(static_cast<int64_t>(ctr.size()));
      info = {{"ads", "logged creatives"}};
    } else {
      fs::path checkpoint;
      std::string name = a.prompt_model;
      if (!a.optimise_arm.empty()) {
        checkpoint = ctx.input("optimise", "models") / a.optimise_arm /
                     fmt::format("seed{}", opt_.optimise_seed);
        if (!fs::exists(checkpoint / "prompt_model.json"))
          fail(
              "arm '{}': the optimise stage kept no prompt model at {} (is '{}' an arm of "
              "stages.optimise whose optimiser trains, with save_models covering seed {}?)",
              a.name, checkpoint.string(), a.optimise_arm, opt_.optimise_seed);
        name = read_json(checkpoint / "prompt_model.json").at("prompt_model").get<std::string>();
      }
      auto pm = make_prompt_model(ctx.experiment(), name, checkpoint);
      PromptModelContext pctx;
      if (ctx.has_input("pretrain", "checkpoint"))
        pctx.pretrained_checkpoint = ctx.input("pretrain", "checkpoint");
      pctx.device = ctx.device();
      pctx.world = d.world;
      pm->setup(pctx);
      SampleOptions so;
      so.temperature = opt_.temperature;
      so.max_new_tokens = opt_.max_new_tokens;
      so.batch_size = opt_.sample_batch_size;
      std::vector<PromptProduct> prompts;
      for (const auto& p : products) prompts.push_back(p.prompt);
      // The same sampling seed in every arm: arms differ by their models only.
      const auto samples = pm->sample(prompts, k, so, derive_seed(seed, "sample"));
      if (samples.size() != products.size() * static_cast<size_t>(k))
        fail("arm '{}': the prompt model returned {} descriptions for {} products x {}", a.name,
             samples.size(), products.size(), k);
      auto renderer = make_stage_renderer(ctx.experiment(), opt_.renderer, image_size, seed);
      std::vector<RenderJob> jobs;
      std::vector<uint64_t> seeds;
      for (size_t i = 0; i < samples.size(); ++i) {
        seeds.push_back(derive_seed(derive_seed(seed, "render"), i));  // common to every arm
        jobs.push_back({&products[i / static_cast<size_t>(k)].rgba, samples[i].text, seeds[i]});
      }
      auto drawn = renderer->render_all(jobs);
      if (drawn.size() != jobs.size())
        fail("arm '{}': the renderer drew {} ads for {} requests", a.name, drawn.size(),
             jobs.size());
      for (size_t i = 0; i < drawn.size(); ++i) {
        const auto& p = products[i / static_cast<size_t>(k)];
        const auto ad = w.score_ad(*p.world, samples[i].text, seeds[i], std::move(drawn[i]));
        if (shows(i))
          shown.push_back({i, ad.rendered.image, w.match(*p.world, ad.parsed.background)});
        descriptions.push_back(samples[i].text);
        ctr.push_back(ad.terms.ctr());
        matched.push_back(ad.matched);
      }
      meter.add_samples(static_cast<int64_t>(samples.size()));
      // Where the weights came from, without the run directory's path (two runs' metrics
      // would differ by it).
      auto policy = pm->info();
      if (policy.is_object()) policy.erase("checkpoint");
      info = {{"prompt_model", name},
              {"weights", !checkpoint.empty() ? "the optimise stage's arm " + a.optimise_arm
                          : pm->needs_pretrained_backbone() ? "the run's pretrained backbone"
                                                            : "the prompt model's own config"},
              {"policy", policy}};
    }
    meter.stop();  // the gallery's judge is not the arm's spending
    const auto shown_json = gallery_entries(a.name, products, k, shown, descriptions, ctr, matched,
                                            d.has_text, gallery);
    return {{"descriptions", descriptions}, {"true_ctr", ctr}, {"matched", matched},
            {"gallery", shown_json},        {"info", info},    {"spent", meter.spent()}};
  }

  nlohmann::json cfg_;
  AbOptions opt_;
  std::vector<AbArmSpec> arms_;
  std::string reads_pretrain_, reads_optimise_;
  bool reads_judge_ = false;
};

}  // namespace

void register_ab_test_stage(Plugins& p) {
  p.stages.add(
      "ab_test",
      "the simulated online A/B test (paper section 6): per arm (a prompt model, an optimise "
      "arm's kept model, or the designers) two ads per held-out product, the same traffic per "
      "product from its category's share, Binomial clicks from the true CTR with common random "
      "numbers; CTR lift over the control with 95% CIs, overall, common categories, per category",
      [] {
        auto d = fields_to_json(AbOptions{});
        d["arms"] = nlohmann::json::array({{{"name", "control"}, {"prompt_model", "caig"}},
                                           {{"optimise_arm", "dpo"}},
                                           {{"optimise_arm", "pcpo"}},
                                           {{"designers", true}}});
        return d;
      }(),
      [](const nlohmann::json& cfg, const PluginContext& ctx) {
        if (!ctx.experiment) fail("stage ab_test needs the experiment config");
        return std::make_unique<AbTestStage>(cfg, *ctx.experiment);
      });
}

}  // namespace caig::stages
