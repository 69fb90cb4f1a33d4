#include "stages/optimise_arms.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "datasets/renderer_plugin.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "harness/stage.h"
#include "metrics/stats.h"
#include "optimisers/optimiser.h"
#include "prompts/prompt_model.h"
#include "rewards/benchmark.h"
#include "rewards/reward_model.h"
#include "stages/stage_data.h"

namespace fs = std::filesystem;

namespace caig::stages {

namespace {

// The optimiser of an arm: [optimisers.<name>] of the experiment, then the arm's own config.
std::unique_ptr<Optimiser> make_optimiser(const nlohmann::json& experiment, const ArmSpec& a) {
  auto cfg = plugins().optimisers.resolve_config(
      a.optimiser, experiment_section(experiment, "optimisers", a.optimiser), "optimisers." + a.optimiser);
  merge_checked(cfg, a.optimiser_config, "arm " + a.name, "optimisers." + a.optimiser);
  return plugins().optimisers.get(a.optimiser).factory(cfg, PluginContext{&experiment, 0});
}

std::unique_ptr<PromptModel> make_prompt_model(const nlohmann::json& experiment,
                                               const std::string& name) {
  return plugins().prompt_models.create(name, experiment_section(experiment, "prompt_models", name),
                                        PluginContext{&experiment, 0}, "prompt_models." + name);
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
    const double h = metrics::t975(static_cast<int64_t>(v.size()) - 1) * se;
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

}  // namespace

void ArmsOptions::check(const std::string& where) const {
  if (seeds < 1) fail("{}.seeds must be >= 1", where);
  if (save_models != "seed0" && save_models != "all" && save_models != "none")
    fail("{}.save_models must be seed0, all or none, got '{}'", where, save_models);
}

nlohmann::json arms_stage_defaults(const nlohmann::json& arms) {
  nlohmann::json d = fields_to_json(ArmsOptions{});
  const nlohmann::json loop = fields_to_json(optimisation::LoopOptions{});
  for (auto it = loop.begin(); it != loop.end(); ++it) d[it.key()] = it.value();
  d["arms"] = arms;
  return d;
}

std::vector<ArmSpec> parse_arms(const nlohmann::json& list, const ArmsOptions& o,
                                const std::string& where_stage) {
  std::vector<ArmSpec> arms;
  std::set<std::string> names;
  const std::set<std::string> keys = {"name",         "optimiser", "judge",
                                      "prompt_model", "renderer",  "config"};
  if (!list.is_array()) fail("{}.arms must be an array of tables", where_stage);
  for (const auto& a : list) {
    const std::string where = fmt::format("{}.arms[{}]", where_stage, arms.size());
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
  if (arms.empty()) fail("{}.arms is empty", where_stage);
  return arms;
}

ArmsNeeds check_arms(const nlohmann::json& experiment, const std::vector<ArmSpec>& arms,
                     const optimisation::LoopOptions& loop) {
  ArmsNeeds needs;
  for (const auto& a : arms) {
    const auto o = make_optimiser(experiment, a);
    const auto pm = make_prompt_model(experiment, a.prompt_model);
    if (o->needs().trains && !pm->trainable())
      fail("arm '{}': prompt model '{}' is not trainable, so its optimiser must be 'none'", a.name,
           a.prompt_model);
    if (o->needs().rejected && loop.samples_per_product != 2)
      fail("arm '{}': optimiser '{}' compares pairs, so samples_per_product must be 2", a.name,
           a.optimiser);
    if (pm->needs_pretrained_backbone()) needs.backbone_user = a.prompt_model;
    for (const auto& f : pm->external_files()) needs.external_files.insert(f.string());
    plugins().renderers.get(a.renderer);
    const auto j = rewards::create_reward_model(experiment, a.judge, 0);
    if (j->trainable()) needs.trained_judge = a.judge;
    for (const auto& f : j->external_files()) needs.external_files.insert(f.string());
  }
  return needs;
}

nlohmann::json summarise_seeds(const std::vector<nlohmann::json>& per_seed_rows) {
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
         {"judge_gold_agreement", over_seeds(per_seed_rows, i, {"train", "judge_gold_agreement"})},
         {"pairs", over_seeds(per_seed_rows, i, {"train", "pairs"})},
         {"steps", over_seeds(per_seed_rows, i, {"train", "steps"})}});
  }
  return summary;
}

namespace {

nlohmann::json run_arm(const ArmsRun& run, const ArmSpec& a, int64_t s) {
  auto& ctx = run.ctx;
  const auto& experiment = ctx.experiment();
  const uint64_t seed = derive_seed(run.seed, static_cast<uint64_t>(s));
  const uint64_t eval_seed =
      s == 0 ? run.eval_seed : derive_seed(run.eval_seed, static_cast<uint64_t>(s));
  auto policy = make_prompt_model(experiment, a.prompt_model);
  PromptModelContext pctx;
  pctx.pretrained_checkpoint = run.checkpoint;
  pctx.device = ctx.device();
  pctx.world = run.dataset.world;
  policy->setup(pctx);
  const auto optimiser = make_optimiser(experiment, a);
  auto judge = run.judge(a, s, derive_seed(seed, "judge"));
  auto renderer = make_stage_renderer(experiment, a.renderer, run.image_size, seed);
  optimisation::LoopParts parts{*policy,
                                *optimiser,
                                *judge,
                                *renderer,
                                run.world,
                                run.match_threshold,
                                run.dataset.has_text,
                                ctx.device(),
                                fs::path()};
  if (a.judge == "external") {
    parts.ad_files = run.scratch / a.name;
    fs::create_directories(parts.ad_files);
  }
  auto r = optimisation::run_loop(parts, run.train, run.eval, run.loop, seed, eval_seed,
                                  fmt::format("{}{} seed {}", run.budget_prefix, a.name, s));
  if (!run.models.empty() && optimiser->needs().trains && policy->savable() &&
      (run.options.save_models == "all" || (run.options.save_models == "seed0" && s == 0))) {
    const fs::path dir = run.models / a.name / fmt::format("seed{}", s);
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

}  // namespace

nlohmann::json run_arms(const std::vector<ArmSpec>& arms, const ArmsRun& run) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : arms) {
    std::vector<nlohmann::json> per_seed_rows;
    nlohmann::json seeds_json = nlohmann::json::array();
    nlohmann::json optimiser_info;
    for (int64_t s = 0; s < run.options.seeds; ++s) {
      const fs::path file = run.results / a.name / fmt::format("seed{}.json", s);
      nlohmann::json result;
      if (fs::exists(file)) {
        result = read_json(file);  // finished before an interruption
      } else {
        result = run_arm(run, a, s);
        write_json_atomic(file, result);
      }
      optimiser_info = result.at("optimiser");
      per_seed_rows.push_back(result.at("iterations"));
      seeds_json.push_back({{"seed", s},
                            {"iterations", result.at("iterations")},
                            {"stopped_by", result.at("stopped_by")}});
      run.ctx.spend(fmt::format("{}{}/seed{}", run.budget_prefix, a.name, s), result.at("spent"));
      for (const auto& rec : result.at("records")) run.ctx.records.push_back(rec);
    }
    out.push_back({{"name", a.name},
                   {"prompt_model", a.prompt_model},
                   {"optimiser", a.optimiser},
                   {"optimiser_config", optimiser_info},
                   {"judge", a.judge},
                   {"renderer", a.renderer},
                   {"seeds", seeds_json},
                   {"summary", summarise_seeds(per_seed_rows)}});
  }
  return out;
}

}  // namespace caig::stages
