#include "rewards/benchmark.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "datasets/io/product_split.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/interrupt.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "metrics/pairwise.h"
#include "metrics/stats.h"
#include "rewards/ad_set.h"
#include "rewards/evaluate.h"
#include "rewards/learning_curve.h"
#include "rewards/reward_model.h"
#include "rewards/saved_model.h"

namespace caig::rewards {

nlohmann::json BenchmarkOptions::defaults() { return fields_to_json(BenchmarkOptions{}); }

BenchmarkOptions BenchmarkOptions::from_config(const nlohmann::json& stage,
                                               const nlohmann::json& experiment,
                                               const std::string& device) {
  BenchmarkOptions o;
  fields_from_json(o, stage, "stages.reward_accuracy");
  if (o.save_models != "seed0" && o.save_models != "all" && o.save_models != "none")
    fail("reward benchmark: save_models is '{}'; known: seed0, all, none", o.save_models);
  o.image_size = at_path(experiment, "world.image_size").get<int64_t>();
  o.limits = BudgetLimits::from_json(at_path(experiment, "budget"));
  o.device = device;
  for (const auto& v : o.variants)
    if (v != "commercial" && v != "public")
      fail("reward benchmark: unknown dataset variant '{}'; known: commercial, public", v);
  if (o.models.empty()) fail("reward benchmark: no models listed");
  for (const auto& m : o.models) plugins().reward_models.get(m);  // unknown names fail here
  if (o.seeds < 1) fail("reward benchmark: seeds must be at least 1, got {}", o.seeds);
  if (o.curve.points < 0)
    fail("stages.reward_accuracy.curve_points must be >= 0 (0: no curve), got {}", o.curve.points);
  if (o.curve.patience < 1)
    fail("stages.reward_accuracy.patience must be >= 1, got {}", o.curve.patience);
  if (o.curve.converge && o.curve.points > 0 && !(o.curve.cap >= 1.0))
    fail("stages.reward_accuracy.converged_cap must be >= 1 (budgets), got {}", o.curve.cap);
  // Checked here too, so a bad list fails before any stage runs.
  data::Dataset none;
  data::assign_product_splits(none, o.split_fractions, 0, "stages.reward_accuracy.split_fractions");
  return o;
}

void check_reward_model_configs(const nlohmann::json& experiment, const std::string& source) {
  if (!experiment.contains("reward_models")) return;
  for (const auto& [name, c] : experiment.at("reward_models").items())
    plugins().reward_models.resolve_config(name, c, source);
}

int64_t dataset_image_size(const data::Dataset& d, const nlohmann::json& experiment) {
  if (d.world.is_object() && d.world.contains("config") && d.world["config"].contains("image_size"))
    return d.world["config"]["image_size"].get<int64_t>();
  return at_path(experiment, "world.image_size").get<int64_t>();
}

namespace {

nlohmann::json model_config(const nlohmann::json& experiment, const std::string& name) {
  const nlohmann::json overrides =
      experiment.contains("reward_models") && experiment["reward_models"].contains(name)
          ? experiment["reward_models"][name]
          : nlohmann::json();
  return plugins().reward_models.resolve_config(name, overrides, "reward_models");
}

}  // namespace

std::unique_ptr<RewardModel> create_reward_model(const nlohmann::json& experiment,
                                                 const std::string& name, uint64_t seed) {
  PluginContext pctx{&experiment, seed};
  return plugins().reward_models.create(name, model_config(experiment, name), pctx,
                                        "reward_models");
}

namespace {

// Sums the spent budget of several seeds (peak memory: the maximum).
nlohmann::json sum_spent(const std::vector<nlohmann::json>& spent) {
  nlohmann::json s = spent.front();
  for (size_t i = 1; i < spent.size(); ++i) {
    s["samples"] = s["samples"].get<int64_t>() + spent[i]["samples"].get<int64_t>();
    s["steps"] = s["steps"].get<int64_t>() + spent[i]["steps"].get<int64_t>();
    s["device_seconds"] =
        s["device_seconds"].get<double>() + spent[i]["device_seconds"].get<double>();
    s["peak_memory_bytes"] = std::max(s["peak_memory_bytes"].get<int64_t>(),
                                      spent[i]["peak_memory_bytes"].get<int64_t>());
  }
  return s;
}

std::vector<metrics::PairPrediction> subset(const std::vector<metrics::PairPrediction>& all,
                                            const std::string& category) {
  std::vector<metrics::PairPrediction> out;
  for (const auto& p : all)
    if (p.category == category) out.push_back(p);
  return out;
}

// Per evaluation point (by its index into curve_fractions): the seeds that reached it, their mean
// samples, steps and device seconds, and the validation accuracy's mean with a 95% t interval.
nlohmann::json summarise_curves(const std::vector<nlohmann::json>& per_seed, int seeds) {
  std::map<int, std::vector<const nlohmann::json*>> at;
  for (const auto& points : per_seed)
    for (const auto& p : points) at[p.at("index").get<int>()].push_back(&p);
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& [index, points] : at) {
    std::vector<double> samples, seconds, acc, both, consistency;
    for (const auto* p : points) {
      samples.push_back(p->at("samples").get<double>());
      seconds.push_back(p->at("device_seconds").get<double>());
      acc.push_back(p->at("accuracy").get<double>());
      both.push_back(p->at("both_orders_accuracy").get<double>());
      consistency.push_back(p->at("consistency").get<double>());
    }
    const auto a = metrics::mean_t_interval(acc);
    summary.push_back({{"index", index},
                       {"seeds", points.size()},
                       {"samples", metrics::mean(samples)},
                       {"device_seconds", metrics::mean(seconds)},
                       {"accuracy", a.to_json()},
                       {"both_orders_accuracy", metrics::mean(both)},
                       {"consistency", metrics::mean(consistency)}});
  }
  return {{"per_seed", per_seed}, {"summary", summary}, {"seeds", seeds}};
}

}  // namespace

// The data-scale points (BenchmarkOptions::data_fractions) of `variant`: each named model (and
// the best baseline) trained on seed 0 with the table's budget on the pairs of a seeded share of
// the training products; the whole training set's point is the table's own seed-0 row.
nlohmann::json data_scale(const data::Dataset& d, const std::string& variant, const EvalSet& eval,
                          const nlohmann::json& table, const std::vector<std::string>& runnable,
                          const BenchmarkOptions& options, const nlohmann::json& experiment,
                          uint64_t bench_seed, const metrics::PairwiseOptions& po) {
  auto privileged = [&](const std::string& name) {
    const auto& info = table.at(name).value("info", nlohmann::json::object());
    return info.is_object() && info.contains("privileged");
  };
  std::vector<std::string> names;
  nlohmann::json skipped = nlohmann::json::object();
  for (const auto& n : options.data_scale_models) {
    if (n == "best") continue;
    if (std::find(runnable.begin(), runnable.end(), n) == runnable.end())
      skipped[n] = "not a model of this table";
    else if (!table.at(n).at("trainable").get<bool>())
      skipped[n] = "it does not train";
    else
      names.push_back(n);
  }
  std::string best;
  if (std::find(options.data_scale_models.begin(), options.data_scale_models.end(), "best") !=
      options.data_scale_models.end()) {
    double best_acc = -1;
    for (const auto& n : runnable) {
      const auto& mm = table.at(n);
      if (!mm.at("trainable").get<bool>() || privileged(n) ||
          std::find(names.begin(), names.end(), n) != names.end())
        continue;
      const double acc = mm.at("observed").at("accuracy").get<double>();
      if (acc > best_acc) best_acc = acc, best = n;
    }
    if (!best.empty()) names.push_back(best);
  }
  for (double f : options.data_fractions)
    if (!(f > 0 && f < 1))
      fail("stages.reward_accuracy.data_fractions: {} is not in (0, 1) (1 is the table itself)", f);
  // The training products in dataset order, then a seeded order over them.
  std::vector<std::string> products;
  std::set<std::string> seen;
  for (const auto& c : d.creatives)
    if (split_of(c) == options.train_split && seen.insert(c.product_id).second)
      products.push_back(c.product_id);
  const auto order = seeded_permutation(products.size(), derive_seed(bench_seed, "data_scale"));
  const uint64_t seed0 = derive_seed(bench_seed, 0);
  nlohmann::json points = nlohmann::json::object();
  for (const auto& n : names) points[n] = nlohmann::json::array();
  for (double f : options.data_fractions) {
    const auto keep_n = std::max<size_t>(1, static_cast<size_t>(std::lround(f * products.size())));
    std::set<std::string> kept;
    for (size_t i = 0; i < keep_n; ++i) kept.insert(products[order[i]]);
    data::Dataset sub = d;
    for (auto& c : sub.creatives)
      if (split_of(c) == options.train_split && !kept.count(c.product_id)) c.split = "unused";
    const TrainingSet train = make_training_set(sub, options.train_split, options.image_size);
    for (const auto& n : names) {
      throw_if_interrupted("the reward table's data-scale points");
      PluginContext pctx{&experiment, derive_seed(seed0, n)};
      auto model =
          plugins().reward_models.create(n, model_config(experiment, n), pctx, "reward_models");
      BudgetMeter meter(options.limits, options.device);
      TrainContext tc{
          train,  meter, options.device, derive_seed(seed0, n), options.pretrained_checkpoint,
          nullptr};
      meter.start();
      model->train(tc);
      meter.stop();
      const auto preds = predict_pairs(*model, n, eval, options.both_orders);
      points[n].push_back({{"fraction", f},
                           {"train_products", keep_n},
                           {"train_pairs", train.pairs.size()},
                           {"train_ads", train.ads.size()},
                           {"observed", metrics::observed_accuracy(preds, po).to_json()},
                           {"both_orders", metrics::both_orders(preds, po).to_json()},
                           {"spent", meter.spent()}});
    }
  }
  const auto full = make_training_set(d, options.train_split, options.image_size);
  for (const auto& n : names) {
    const auto& seed_row = table.at(n).at("per_seed").at(0);
    points[n].push_back({{"fraction", 1.0},
                         {"train_products", products.size()},
                         {"train_pairs", full.pairs.size()},
                         {"train_ads", full.ads.size()},
                         {"observed", seed_row.at("observed")},
                         {"both_orders", seed_row.at("both_orders")},
                         {"spent", seed_row.at("spent")}});
  }
  return {{"variant", variant},
          {"seed", 0},
          {"skipped", skipped},
          {"models", names},
          {"best_baseline", best},
          {"points", points},
          {"fractions", options.data_fractions}};
}

BenchmarkResult run_reward_benchmark(const data::Dataset& source, const BenchmarkOptions& options,
                                     const nlohmann::json& experiment, uint64_t seed) {
  if (options.load_from.empty() && options.limits.max_samples <= 0 &&
      options.limits.max_steps <= 0 && options.limits.max_device_seconds <= 0)
    fail(
        "reward benchmark: [budget] sets no limit; set budget.max_samples or "
        "budget.max_device_seconds so every model gets the same, finite budget");
  for (const auto& m : options.models) model_config(experiment, m);  // check before any work
  if (!options.load_from.empty() && (options.models.size() != 1 || options.seeds != 1))
    fail("reward benchmark: a loaded model is scored alone, with one seed");

  BenchmarkResult result;
  data::Dataset dataset = source;
  const nlohmann::json split =
      data::assign_product_splits(dataset, options.split_fractions, derive_seed(seed, "split"),
                                  "stages.reward_accuracy.split_fractions");
  const bool simulated = dataset.world.is_object();
  // A text-free dataset has no commercial variant, and models that read the simulator's truth
  // have nothing to read in real data: both are recorded as skipped, with the reason.
  std::vector<std::string> variants;
  nlohmann::json skipped_variants = nlohmann::json::object();
  for (const auto& v : options.variants) {
    if (v == "commercial" && !dataset.has_text) {
      skipped_variants[v] = "the dataset has no titles or attributes (text-free, as `public`)";
      if (std::find(options.variants.begin(), options.variants.end(), "public") ==
          options.variants.end())
        variants.push_back("public");
    } else {
      variants.push_back(v);
    }
  }
  std::vector<std::string> runnable;
  nlohmann::json skipped_models = nlohmann::json::object();
  for (const auto& name : options.models) {
    const bool needs_truth =
        options.load_from.empty() && create_reward_model(experiment, name, 0)->needs_true_ctr();
    if (needs_truth && !simulated)
      skipped_models[name] = "it reads the true CTR or slots, which only a simulated dataset has";
    else
      runnable.push_back(name);
  }
  if (runnable.empty())
    fail("reward benchmark: none of the listed models can run on this dataset ({})",
         skipped_models.dump());
  const uint64_t bench_seed = derive_seed(seed, "reward_accuracy");
  metrics::PairwiseOptions po;
  po.bootstrap = options.bootstrap;
  po.seed = derive_seed(bench_seed, "bootstrap");
  nlohmann::json datasets = nlohmann::json::object();
  for (const auto& variant : variants) {
    const data::Dataset d = variant == "public" ? without_text(dataset) : dataset;
    const TrainingSet train = make_training_set(d, options.train_split, options.image_size);
    const EvalSet eval = make_eval_set(d, options.eval_split, options.image_size);
    const bool probing = options.curve.points > 0 && options.load_from.empty();
    const EvalSet val =
        probing ? make_eval_set(d, options.curve_split, options.image_size) : EvalSet{};
    nlohmann::json models = nlohmann::json::object();
    for (const auto& name : runnable) {
      // A loaded model's config is the one it was trained with.
      const nlohmann::json cfg = options.load_from.empty()
                                     ? model_config(experiment, name)
                                     : read_reward_model_record(options.load_from).config;
      std::vector<std::vector<metrics::PairPrediction>> per_seed, converged;
      std::vector<nlohmann::json> seed_metrics, spent, run_spent, curves, best_points;
      nlohmann::json info;
      bool trainable = false;
      for (int s = 0; s < options.seeds; ++s) {
        throw_if_interrupted("the reward-model table");
        const uint64_t seed_s = derive_seed(bench_seed, static_cast<uint64_t>(s));
        std::unique_ptr<RewardModel> model;
        if (options.load_from.empty()) {
          PluginContext pctx{&experiment, derive_seed(seed_s, name)};
          model = plugins().reward_models.create(name, cfg, pctx, "reward_models");
        } else {
          model = load_reward_model(options.load_from, options.device).model;
        }
        trainable = model->trainable() && options.load_from.empty();
        // With converge, the training runs on past the table's budget (up to the cap); the
        // probe takes the table's predictions when the budget is spent.
        const bool probe_this = trainable && probing;
        BudgetMeter meter(probe_this && options.curve.converge
                              ? scaled_limits(options.limits, options.curve.cap)
                              : options.limits,
                          options.device);
        std::unique_ptr<BudgetProbe> probe;
        if (probe_this)
          probe = std::make_unique<BudgetProbe>(*model, name, val, eval, options.limits,
                                                options.curve, options.both_orders);
        const bool keep =
            trainable && !options.save_dir.empty() &&
            (options.save_models == "all" || (options.save_models == "seed0" && s == 0));
        bool saved = false;
        auto save = [&] {
          saved = true;
          if (!model->savable()) return;  // e.g. an external model
          save_reward_model(*model, name, cfg,
                            {{"variant", variant}, {"seed", s}, {"split", options.train_split}},
                            options.save_dir / variant / name / fmt::format("seed{}", s));
        };
        if (probe && keep) probe->on_table = save;
        std::vector<metrics::PairPrediction> preds;
        if (trainable) {
          TrainContext tc{train,
                          meter,
                          options.device,
                          derive_seed(seed_s, name),
                          options.pretrained_checkpoint,
                          probe.get()};
          meter.start();
          model->train(tc);
          meter.stop();
          run_spent.push_back(meter.spent());
          if (probe) {
            probe->finish(meter);
            preds = probe->table_predictions();
            spent.push_back(probe->table_spent());
            nlohmann::json points = nlohmann::json::array();
            for (const auto& p : probe->curve()) points.push_back(p.to_json());
            curves.push_back(points);
            if (options.curve.converge) {
              converged.push_back(probe->best_predictions());
              nlohmann::json b = probe->best_point().to_json();
              b["stopped_by"] = probe->stopped_by(meter);
              b["run_samples"] = meter.samples();
              b["run_device_seconds"] = meter.device_seconds();
              best_points.push_back(b);
            }
          } else {
            spent.push_back(meter.spent());
          }
          if (keep && !saved) save();
        }
        if (!probe) preds = predict_pairs(*model, name, eval, options.both_orders);
        // Per seed without the categories: those are pooled over seeds below.
        nlohmann::json m = {{"seed", s},
                            {"observed", metrics::observed_accuracy(preds, po).to_json()},
                            {"true", metrics::true_accuracy(preds, po).to_json()},
                            {"both_orders", metrics::both_orders(preds, po).to_json()},
                            {"auc", metrics::pairwise_auc(preds)}};
        if (trainable) m["spent"] = spent.back();
        seed_metrics.push_back(std::move(m));
        info = model->info();
        auto rows =
            prediction_records(eval, preds, {{"dataset", variant}, {"model", name}, {"seed", s}});
        result.records.insert(result.records.end(), rows.begin(), rows.end());
        per_seed.push_back(std::move(preds));
      }
      nlohmann::json mm;
      mm["trainable"] = trainable;
      mm["config"] = cfg;
      mm["info"] = info;
      mm["observed"] = metrics::pooled_seeds_accuracy(per_seed, po, false).to_json();
      mm["true"] = metrics::pooled_seeds_accuracy(per_seed, po, true).to_json();
      std::vector<double> auc, bias, consistency, both;
      for (const auto& sm : seed_metrics) {
        auc.push_back(sm["auc"].get<double>());
        bias.push_back(sm["both_orders"]["position_bias"].get<double>());
        consistency.push_back(sm["both_orders"]["consistency"].get<double>());
        both.push_back(sm["both_orders"]["both"]["accuracy"].get<double>());
      }
      mm["auc"] = metrics::mean(auc);
      mm["position_bias"] = metrics::mean(bias);
      mm["consistency"] = metrics::mean(consistency);
      mm["both_orders_accuracy"] = metrics::mean(both);
      nlohmann::json by_cat = nlohmann::json::object();
      std::map<std::string, int> cats;
      for (const auto& p : per_seed.front()) cats[p.category]++;
      for (const auto& [c, n] : cats) {
        std::vector<std::vector<metrics::PairPrediction>> sub;
        for (const auto& ps : per_seed) sub.push_back(subset(ps, c));
        by_cat[c] = metrics::pooled_seeds_accuracy(sub, po, false).to_json();
      }
      mm["by_category"] = by_cat;
      mm["per_seed"] = seed_metrics;
      if (trainable) {
        const auto total = sum_spent(spent);
        mm["spent"] = {
            {"samples_per_seed", total["samples"].get<double>() / options.seeds},
            {"device_seconds_per_seed", total["device_seconds"].get<double>() / options.seeds},
            {"steps_per_seed", total["steps"].get<double>() / options.seeds}};
        // budget.json: everything the trainings spent (with converge, past the table's budget).
        result.budget[variant + "/" + name] = sum_spent(run_spent);
      }
      if (!curves.empty()) mm["curve"] = summarise_curves(curves, options.seeds);
      if (!converged.empty()) {
        nlohmann::json c;
        c["observed"] = metrics::pooled_seeds_accuracy(converged, po, false).to_json();
        c["true"] = metrics::pooled_seeds_accuracy(converged, po, true).to_json();
        std::vector<double> samples, seconds;
        for (const auto& b : best_points) {
          samples.push_back(b["samples"].get<double>());
          seconds.push_back(b["device_seconds"].get<double>());
        }
        c["samples_per_seed"] = metrics::mean(samples);
        c["device_seconds_per_seed"] = metrics::mean(seconds);
        c["per_seed"] = best_points;
        c["cap"] = options.curve.cap;
        c["patience"] = options.curve.patience;
        mm["converged"] = c;
      }
      models[name] = mm;
    }
    if (variant == variants.front() && !options.data_fractions.empty() &&
        options.load_from.empty() && !options.data_scale_models.empty())
      result.metrics["data_scale"] =
          data_scale(d, variant, eval, models, runnable, options, experiment, bench_seed, po);
    datasets[variant] = {{"models", models},
                         {"eval_pairs", eval.pairs.size()},
                         {"eval_ads", eval.ads.size()},
                         {"train_pairs", train.pairs.size()},
                         {"train_ads", train.ads.size()},
                         {"train_products", train.products.size()}};
  }
  const nlohmann::json scale =
      result.metrics.is_object() ? result.metrics.value("data_scale", nlohmann::json()) : nullptr;
  result.metrics = {{"datasets", datasets},
                    {"models", runnable},
                    {"variants", variants},
                    {"skipped_models", skipped_models},
                    {"skipped_variants", skipped_variants},
                    {"dataset", {{"format", dataset.format}, {"simulated", simulated}}},
                    {"simulated", simulated},
                    {"split", split},
                    {"seeds", options.seeds},
                    {"train_split", options.train_split},
                    {"eval_split", options.eval_split},
                    {"budget_limits", options.limits.to_json()},
                    {"bootstrap", options.bootstrap}};
  if (!scale.is_null()) result.metrics["data_scale"] = scale;
  return result;
}

}  // namespace caig::rewards
