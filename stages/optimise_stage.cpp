// The `optimise` stage, the paper's second result: the CTR-driven loop (optimisation/ctr_loop.h)
// run for every arm (prompt model x optimiser x judge x renderer) and seed with the same products,
// budget and measurement. Reads the world stage's `data`, the pretrain stage's `checkpoint` when a
// prompt model starts from it, and the reward_accuracy stage's `models` when a judge is a trained
// reward model; writes `arms/<arm>/seed<s>.json` (each arm's rows, kept as they finish, so an
// interrupted stage resumes at the first arm it had not finished) and the optimised prompt models
// it keeps (`models/<arm>/seed<s>/`).
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "datasets/renderer_plugin.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/config.h"
#include "harness/content_hash.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "metrics/stats.h"
#include "optimisation/ctr_loop.h"
#include "optimisation/loop_products.h"
#include "optimisers/optimiser.h"
#include "prompts/prompt_model.h"
#include "rewards/benchmark.h"
#include "rewards/reward_model.h"
#include "rewards/saved_model.h"
#include "stages/register.h"
#include "stages/stage_data.h"

namespace fs = std::filesystem;

namespace caig::stages {

namespace {

// One arm of the experiment: names of its plugins and its optimiser's config over the section's.
struct ArmSpec {
  std::string name, prompt_model, optimiser, judge, renderer;
  nlohmann::json optimiser_config = nlohmann::json::object();
};

// [stages.optimise] besides the loop's own keys (LoopOptions).
struct OptimiseOptions {
  std::string data;  // empty: the world stage's
  std::string prompt_model = "caig";
  std::string judge = "caig";
  std::string judge_variant = "";  // of a saved judge; empty: commercial, or public without text
  std::string renderer = "procedural";
  int64_t seeds = 1;
  std::string save_models = "seed0";
  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("data", o.data);
    f("prompt_model", o.prompt_model);
    f("judge", o.judge);
    f("judge_variant", o.judge_variant);
    f("renderer", o.renderer);
    f("seeds", o.seeds);
    f("save_models", o.save_models);
  }
};

nlohmann::json stage_defaults() {
  nlohmann::json d = fields_to_json(OptimiseOptions{});
  const nlohmann::json loop = fields_to_json(optimisation::LoopOptions{});
  for (auto it = loop.begin(); it != loop.end(); ++it) d[it.key()] = it.value();
  d["arms"] = nlohmann::json::array(
      {{{"optimiser", "none"}}, {{"optimiser", "dpo"}}, {{"optimiser", "pcpo"}}});
  return d;
}

nlohmann::json section(const nlohmann::json& experiment, const std::string& kind,
                       const std::string& name) {
  if (experiment.contains(kind) && experiment[kind].contains(name)) return experiment[kind][name];
  return nlohmann::json::object();
}

std::vector<ArmSpec> parse_arms(const nlohmann::json& cfg, const OptimiseOptions& o) {
  std::vector<ArmSpec> arms;
  std::set<std::string> names;
  const std::set<std::string> keys = {"name",         "optimiser", "judge",
                                      "prompt_model", "renderer",  "config"};
  for (const auto& a : cfg.at("arms")) {
    const std::string where = fmt::format("stages.optimise.arms[{}]", arms.size());
    if (!a.is_object()) fail("{}: an arm is a table, e.g. {{optimiser = \"dpo\"}}", where);
    for (const auto& [k, v] : a.items())
      if (!keys.count(k))
        fail("{}: unknown key '{}' (known: name, optimiser, judge, prompt_model, renderer, config)",
             where, k);
    auto str = [&](const char* k, const std::string& def) {
      if (!a.contains(k)) return def;
      if (!a[k].is_string()) fail("{}.{} must be a string", where, k);
      return a[k].get<std::string>();
    };
    ArmSpec s;
    s.optimiser = str("optimiser", "");
    if (s.optimiser.empty()) fail("{}: 'optimiser' is required", where);
    s.judge = str("judge", o.judge);
    s.prompt_model = str("prompt_model", o.prompt_model);
    s.renderer = str("renderer", o.renderer);
    s.name = str("name", s.optimiser == "none" ? s.optimiser : s.optimiser + "+" + s.judge);
    if (a.contains("config")) {
      if (!a["config"].is_object()) fail("{}.config must be a table", where);
      s.optimiser_config = a["config"];
    }
    if (s.name.empty() || s.name.find_first_of("/\\ ") != std::string::npos)
      fail("{}: the name '{}' must be non-empty, without '/' or spaces", where, s.name);
    if (!names.insert(s.name).second)
      fail("{}: two arms are named '{}'; give one a 'name'", where, s.name);
    arms.push_back(std::move(s));
  }
  if (arms.empty()) fail("stages.optimise.arms is empty");
  return arms;
}

// The optimiser of an arm: [optimisers.<name>] of the experiment, then the arm's own config.
std::unique_ptr<Optimiser> make_optimiser(const nlohmann::json& experiment, const ArmSpec& a) {
  auto cfg = plugins().optimisers.resolve_config(
      a.optimiser, section(experiment, "optimisers", a.optimiser), "optimisers." + a.optimiser);
  merge_checked(cfg, a.optimiser_config, "arm " + a.name, "optimisers." + a.optimiser);
  return plugins().optimisers.get(a.optimiser).factory(cfg, PluginContext{&experiment, 0});
}

std::unique_ptr<PromptModel> make_prompt_model(const nlohmann::json& experiment,
                                               const std::string& name) {
  return plugins().prompt_models.create(name, section(experiment, "prompt_models", name),
                                        PluginContext{&experiment, 0}, "prompt_models." + name);
}

double t975(int64_t df) {
  static const double t[] = {0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262};
  return df < 10 ? t[df] : 1.96 + 2.5 / static_cast<double>(df);
}

// Mean and 95% interval over seeds of each row's value at `path` (a t interval; one seed: the
// value, with the row's own interval when it has one at `interval`).
nlohmann::json over_seeds(const std::vector<nlohmann::json>& per_seed, int64_t iteration,
                          const std::vector<std::string>& path, const char* interval = nullptr) {
  std::vector<double> v;
  nlohmann::json own_interval = nullptr;
  for (const auto& rows : per_seed) {
    if (iteration >= static_cast<int64_t>(rows.size())) continue;
    const nlohmann::json* x = &rows[static_cast<size_t>(iteration)];
    for (const auto& k : path) {
      if (!x->contains(k)) {
        x = nullptr;
        break;
      }
      x = &(*x)[k];
    }
    if (x && x->is_number()) v.push_back(x->get<double>());
    if (interval && per_seed.size() == 1 &&
        rows[static_cast<size_t>(iteration)].contains(path.front()))
      own_interval =
          rows[static_cast<size_t>(iteration)][path.front()].value(interval, nlohmann::json());
  }
  if (v.empty()) return nullptr;
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  nlohmann::json out = {{"mean", m}, {"seeds", v.size()}};
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    const double se =
        std::sqrt(ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()));
    const double h = t975(static_cast<int64_t>(v.size()) - 1) * se;
    // Shares (rates) stay in [0, 1].
    const bool share = interval != nullptr || path.back().find("rate") != std::string::npos ||
                       path.back() == "judge_gold_agreement";
    out["interval"] = {share ? std::max(0.0, m - h) : m - h, share ? std::min(1.0, m + h) : m + h};
    out["interval_kind"] = "t over seeds";
  } else if (own_interval.is_array()) {
    out["interval"] = own_interval;
    out["interval_kind"] = "bootstrap over products (one seed)";
  }
  return out;
}

class OptimiseStage : public Stage {
 public:
  OptimiseStage(nlohmann::json cfg, const nlohmann::json& experiment)
      : cfg_(std::move(cfg)),
        opt_(fields_from_json<OptimiseOptions>(cfg_, "stages.optimise", true)),
        loop_(fields_from_json<optimisation::LoopOptions>(cfg_, "stages.optimise", true)) {
    loop_.check();
    if (opt_.seeds < 1) fail("stages.optimise.seeds must be >= 1");
    if (opt_.save_models != "seed0" && opt_.save_models != "all" && opt_.save_models != "none")
      fail("stages.optimise.save_models must be seed0, all or none, got '{}'", opt_.save_models);
    arms_ = parse_arms(cfg_, opt_);
    // Fail before any stage runs: unknown plugins and bad configs.
    for (const auto& a : arms_) {
      const auto o = make_optimiser(experiment, a);
      const auto pm = make_prompt_model(experiment, a.prompt_model);
      if (o->needs().trains && !pm->trainable())
        fail("arm '{}': prompt model '{}' is not trainable, so its optimiser must be 'none'",
             a.name, a.prompt_model);
      if (o->needs().rejected && loop_.samples_per_product != 2)
        fail("arm '{}': optimiser '{}' compares pairs, so samples_per_product must be 2", a.name,
             a.optimiser);
      if (pm->needs_pretrained_backbone()) backbone_user_ = a.prompt_model;
      for (const auto& f : pm->external_files()) external_files_.insert(f.string());
      plugins().renderers.get(a.renderer);
      const auto j = rewards::create_reward_model(experiment, a.judge, 0);
      if (j->trainable()) saved_judge_ = a.judge;
      for (const auto& f : j->external_files()) external_files_.insert(f.string());
    }
  }

  std::vector<ArtifactRef> reads() const override {
    std::vector<ArtifactRef> r;
    if (opt_.data.empty())
      r.push_back(
          {"world", "data", "the products the loop writes for; or set stages.optimise.data"});
    if (!backbone_user_.empty())
      r.push_back({"pretrain", "checkpoint",
                   "prompt model '" + backbone_user_ + "' starts from the pretrained backbone"});
    if (!saved_judge_.empty())
      r.push_back({"reward_accuracy", "models",
                   "judge '" + saved_judge_ + "' is a trained reward model, loaded from there"});
    return r;
  }
  std::vector<std::string> writes() const override { return {"arms", "models"}; }
  std::vector<std::string> config_keys() const override {
    return {"optimisers",    "prompt_models",    "renderers",
            "reward_models", "world.image_size", "world.match_threshold"};
  }
  nlohmann::json external_fingerprint() const override {
    nlohmann::json f = nlohmann::json::object();
    if (!opt_.data.empty()) f["data"] = hash_bytes(hash_tree(opt_.data).dump());
    for (const auto& file : external_files_)
      f[file] = fs::exists(file) ? hash_file(file) : "missing";
    return f.empty() ? nlohmann::json(nullptr) : f;
  }
  bool resumable() const override { return true; }

  void run(StageContext& ctx) override {
    const auto& experiment = ctx.experiment();
    const fs::path data = opt_.data.empty() ? ctx.input("world", "data") : fs::path(opt_.data);
    const data::Dataset d =
        load_stage_dataset(data, experiment, ctx.seed(), "stages.optimise.data");
    const auto world = optimisation::dataset_world(d);
    const int64_t image_size = rewards::dataset_image_size(d, experiment);
    const double threshold =
        d.world.is_object() ? d.world.at("config").at("match_threshold").get<double>() : 0.5;
    const std::string variant =
        !opt_.judge_variant.empty() ? opt_.judge_variant : (d.has_text ? "commercial" : "public");
    const uint64_t run_seed = ctx.seed();
    // The held-out measurement samples as pretraining's evaluation does for seed 0: with
    // eval_split = "val" and pretraining's sizes, iteration 0 reproduces its match rate.
    const uint64_t pretrain_eval = derive_seed(derive_seed(run_seed, "pretrain"), "eval");
    const auto eval_products = optimisation::loop_products(d, loop_.eval_split, loop_.eval_products,
                                                           pretrain_eval, image_size, world.get());
    const auto train_products = optimisation::loop_products(
        d, "train", 0, derive_seed(run_seed, "optimise_products"), image_size, world.get());
    const fs::path arms_dir = ctx.output("arms"), models_dir = ctx.output("models");
    fs::create_directories(arms_dir);
    fs::create_directories(models_dir);
    const fs::path scratch = ctx.dir() / "scratch";

    nlohmann::json arms_json = nlohmann::json::array();
    for (const auto& a : arms_) {
      std::vector<nlohmann::json> per_seed_rows;
      nlohmann::json seeds_json = nlohmann::json::array();
      nlohmann::json optimiser_info;
      for (int64_t s = 0; s < opt_.seeds; ++s) {
        const fs::path result_file = arms_dir / a.name / fmt::format("seed{}.json", s);
        nlohmann::json result;
        if (fs::exists(result_file)) {
          result = read_json(result_file);  // finished before an interruption
        } else {
          result = run_arm(ctx, d, world.get(), a, s, variant, image_size, threshold,
                           train_products, eval_products, pretrain_eval, models_dir, scratch);
          write_json_atomic(result_file, result);
        }
        optimiser_info = result.at("optimiser");
        per_seed_rows.push_back(result.at("iterations"));
        seeds_json.push_back({{"seed", s},
                              {"iterations", result.at("iterations")},
                              {"stopped_by", result.at("stopped_by")}});
        ctx.spend(fmt::format("{}/seed{}", a.name, s), result.at("spent"));
        for (const auto& rec : result.at("records")) ctx.records.push_back(rec);
      }
      nlohmann::json summary = nlohmann::json::array();
      size_t rows = 0;
      for (const auto& r : per_seed_rows) rows = std::max(rows, r.size());
      for (size_t it = 0; it < rows; ++it) {
        const auto i = static_cast<int64_t>(it);
        summary.push_back(
            {{"iteration", i},
             {"match_rate",
              over_seeds(per_seed_rows, i, {"match", "match_rate"}, "match_rate_interval")},
             {"well_formed_rate", over_seeds(per_seed_rows, i, {"match", "well_formed_rate"})},
             {"proxy_win_rate", over_seeds(per_seed_rows, i, {"proxy_win_rate"})},
             {"gold_ctr", over_seeds(per_seed_rows, i, {"gold_ctr"})},
             {"gold_win_rate", over_seeds(per_seed_rows, i, {"gold_win_rate"})},
             {"kl", over_seeds(per_seed_rows, i, {"kl"})},
             {"distinct_rate", over_seeds(per_seed_rows, i, {"distinct_rate"})},
             {"judge_gold_agreement",
              over_seeds(per_seed_rows, i, {"train", "judge_gold_agreement"})},
             {"pairs", over_seeds(per_seed_rows, i, {"train", "pairs"})},
             {"steps", over_seeds(per_seed_rows, i, {"train", "steps"})}});
      }
      arms_json.push_back({{"name", a.name},
                           {"prompt_model", a.prompt_model},
                           {"optimiser", a.optimiser},
                           {"optimiser_config", optimiser_info},
                           {"judge", a.judge},
                           {"renderer", a.renderer},
                           {"seeds", seeds_json},
                           {"summary", summary}});
    }
    std::error_code ec;
    fs::remove_all(scratch, ec);
    ctx.metrics = {{"arms", arms_json},
                   {"loop", fields_to_json(loop_)},
                   {"judge_variant", variant},
                   {"match_threshold", threshold},
                   {"train_products", train_products.size()},
                   {"eval_products", eval_products.size()},
                   {"simulated", d.world.is_object()}};
  }

 private:
  // The judge of an arm: the reward_accuracy stage's saved model for a trainable one (seed s where
  // it kept all seeds, else seed 0), or the plugin itself.
  std::unique_ptr<RewardModel> make_judge(StageContext& ctx, const ArmSpec& a, int64_t s,
                                          const std::string& variant, uint64_t seed) {
    auto j = rewards::create_reward_model(ctx.experiment(), a.judge, seed);
    if (!j->trainable()) return j;
    const fs::path root = ctx.input("reward_accuracy", "models") / variant / a.judge;
    fs::path dir = root / fmt::format("seed{}", s);
    if (!fs::exists(dir)) dir = root / "seed0";
    if (!fs::exists(dir / "reward_model.json"))
      fail(
          "arm '{}': judge '{}' is a trained reward model, but the reward_accuracy stage kept none "
          "at {} (list it in stages.reward_accuracy.models, variant '{}', with save_models = "
          "seed0 or all)",
          a.name, a.judge, root.string(), variant);
    return rewards::load_reward_model(dir, ctx.device()).model;
  }

  nlohmann::json run_arm(StageContext& ctx, const data::Dataset& d, const world::ShopWorld* world,
                         const ArmSpec& a, int64_t s, const std::string& variant,
                         int64_t image_size, double threshold,
                         const std::vector<optimisation::LoopProduct>& train,
                         const std::vector<optimisation::LoopProduct>& eval, uint64_t pretrain_eval,
                         const fs::path& models_dir, const fs::path& scratch) {
    const auto& experiment = ctx.experiment();
    const uint64_t seed =
        derive_seed(derive_seed(ctx.seed(), "optimise"), static_cast<uint64_t>(s));
    const uint64_t eval_seed =
        s == 0 ? pretrain_eval : derive_seed(pretrain_eval, static_cast<uint64_t>(s));
    auto policy = make_prompt_model(experiment, a.prompt_model);
    PromptModelContext pctx;
    if (ctx.has_input("pretrain", "checkpoint"))
      pctx.pretrained_checkpoint = ctx.input("pretrain", "checkpoint");
    pctx.device = ctx.device();
    pctx.world = d.world;
    policy->setup(pctx);
    const auto optimiser = make_optimiser(experiment, a);
    auto judge = make_judge(ctx, a, s, variant, derive_seed(seed, "judge"));
    nlohmann::json rcfg = section(experiment, "renderers", a.renderer);
    if (plugins().renderers.get(a.renderer).defaults.contains("image_size") &&
        !rcfg.contains("image_size"))
      rcfg["image_size"] = image_size;
    auto renderer = plugins().renderers.create(a.renderer, rcfg, PluginContext{&experiment, seed},
                                               "renderers." + a.renderer);
    optimisation::LoopParts parts{*policy,   *optimiser, *judge,       *renderer, world,
                                  threshold, d.has_text, ctx.device(), fs::path()};
    if (a.judge == "external") {
      parts.ad_files = scratch / a.name;
      fs::create_directories(parts.ad_files);
    }
    auto r = optimisation::run_loop(parts, train, eval, loop_, seed, eval_seed,
                                    fmt::format("optimise {} seed {}", a.name, s));
    if (optimiser->needs().trains && policy->savable() &&
        (opt_.save_models == "all" || (opt_.save_models == "seed0" && s == 0))) {
      const fs::path dir = models_dir / a.name / fmt::format("seed{}", s);
      policy->save(dir);
      write_json_atomic(dir / "prompt_model.json", {{"format", "caig-prompt-model"},
                                                    {"prompt_model", a.prompt_model},
                                                    {"optimiser", optimiser->info()},
                                                    {"judge", a.judge},
                                                    {"seed", s}});
    }
    for (auto& rec : r.records) {
      rec["arm"] = a.name;
      rec["seed"] = s;
    }
    return {{"iterations", r.iterations}, {"stopped_by", r.stopped_by},
            {"spent", r.spent},           {"optimiser", optimiser->info()},
            {"policy", policy->info()},   {"judge_info", judge->info()},
            {"records", r.records}};
  }

  nlohmann::json cfg_;
  OptimiseOptions opt_;
  optimisation::LoopOptions loop_;
  std::vector<ArmSpec> arms_;
  std::string backbone_user_;
  std::string saved_judge_;
  std::set<std::string> external_files_;
};

}  // namespace

void register_optimise_stage(Plugins& p) {
  add_config_section("prompt_models", nlohmann::json::object());
  add_config_section("optimisers", nlohmann::json::object());
  add_config_section("renderers", nlohmann::json::object());
  p.stages.add("optimise",
               "the CTR-driven loop (paper section 5): per arm (prompt model x optimiser x judge x "
               "renderer) and seed, iterations of sample -> render -> judge -> train; match rate, "
               "proxy and gold reward, KL per iteration; keeps the optimised prompt models",
               stage_defaults(), [](const nlohmann::json& cfg, const PluginContext& ctx) {
                 if (!ctx.experiment) fail("stage optimise needs the experiment config");
                 return std::make_unique<OptimiseStage>(cfg, *ctx.experiment);
               });
}

}  // namespace caig::stages
