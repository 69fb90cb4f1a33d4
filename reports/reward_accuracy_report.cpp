#include "reports/reward_accuracy_report.h"

#include <map>

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/report.h"
#include "reports/figure.h"
#include "reports/register.h"

namespace caig::reports {

namespace {

std::string pct(double v) { return fmt::format("{:.1f}", 100.0 * v); }

std::string acc_ci(const nlohmann::json& a) {
  const auto& ci = a.at("ci");
  return fmt::format("{} [{}, {}]", pct(a.at("accuracy").get<double>()),
                     pct(ci.at("lo").get<double>()), pct(ci.at("hi").get<double>()));
}

const nlohmann::json& model_metrics(const nlohmann::json& m, const std::string& variant,
                                    const std::string& model) {
  return m.at("datasets").at(variant).at("models").at(model);
}

// The row label: a privileged reference (it reads the simulator's truth) says so.
std::string row_label(const nlohmann::json& mm, const std::string& name) {
  const auto& info = mm.value("info", nlohmann::json::object());
  return info.is_object() && info.contains("privileged") ? name + " (privileged)" : name;
}

std::string spent_cell(const nlohmann::json& mm, const char* key, int digits) {
  if (!mm.at("trainable").get<bool>()) return "-";
  return fmt::format("{:.{}f}", mm.at("spent").at(key).get<double>(), digits);
}

// Stored tables from before the stage recorded it were all simulated.
bool simulated(const nlohmann::json& m) { return m.value("simulated", true); }

std::string data_name(const nlohmann::json& m) {
  if (simulated(m)) return "ShopWorld";
  const std::string f = m.contains("dataset") ? m["dataset"].value("format", "") : "";
  return f == "creative_ranking" ? "CreativeRanking" : f == "cg4ctr_json" ? "CG4CTR/CAIG" : f;
}

// The limits that are set ("40000 samples (ads seen) or 20 device seconds").
std::string limits_text(const nlohmann::json& lim) {
  std::vector<std::string> parts;
  if (lim.value("max_samples", int64_t{0}) > 0)
    parts.push_back(fmt::format("{} samples (ads seen)", lim["max_samples"].get<int64_t>()));
  if (lim.value("max_steps", int64_t{0}) > 0)
    parts.push_back(fmt::format("{} steps", lim["max_steps"].get<int64_t>()));
  if (lim.value("max_device_seconds", 0.0) > 0)
    parts.push_back(fmt::format("{:g} device seconds", lim["max_device_seconds"].get<double>()));
  if (parts.empty()) return "no limit";
  std::string s = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) s += " or " + parts[i];
  return s;
}

// What the benchmark did not run, and why: nothing is dropped without a word.
std::string skipped_note(const nlohmann::json& m) {
  std::string s;
  for (const char* key : {"skipped_variants", "skipped_models"})
    if (m.contains(key))
      for (const auto& [name, why] : m[key].items())
        s += fmt::format(" Not run: {} `{}`: {}.",
                         std::string(key) == "skipped_models" ? "model" : "variant", name,
                         why.get<std::string>());
  return s;
}

}  // namespace

Table reward_accuracy_table(const nlohmann::json& m) {
  Table t;
  const bool sim = simulated(m);
  t.title = fmt::format("Reward models: pairwise accuracy (%) on {} test pairs", data_name(m));
  t.columns = {"model"};
  const auto variants = m.at("variants").get<std::vector<std::string>>();
  for (const auto& v : variants) {
    t.columns.push_back(v + " acc [95% CI]");
    if (sim) t.columns.push_back(v + " acc vs true CTR");
  }
  t.columns.push_back("samples / seed");
  t.columns.push_back("device s / seed");
  for (const auto& model : m.at("models")) {
    const std::string name = model.get<std::string>();
    std::vector<std::string> row = {row_label(model_metrics(m, variants.front(), name), name)};
    for (const auto& v : variants) {
      const auto& mm = model_metrics(m, v, name);
      row.push_back(acc_ci(mm.at("observed")));
      if (sim) row.push_back(pct(mm.at("true").at("accuracy").get<double>()));
    }
    const auto& first = model_metrics(m, variants.front(), name);
    row.push_back(spent_cell(first, "samples_per_seed", 0));
    row.push_back(spent_cell(first, "device_seconds_per_seed", 1));
    t.rows.push_back(row);
  }
  const auto& lim = m.at("budget_limits");
  std::string sizes;
  for (const auto& v : variants) {
    const auto& d = m.at("datasets").at(v);
    sizes += fmt::format("{}{}: {} test pairs ({} training pairs, {} training ads)",
                         sizes.empty() ? "" : "; ", v, d.at("eval_pairs").get<int64_t>(),
                         d.at("train_pairs").get<int64_t>(), d.at("train_ads").get<int64_t>());
  }
  std::string split;
  if (m.contains("split") && m["split"].value("assigned", false)) {
    const auto& f = m["split"]["fractions"];
    split = fmt::format(
        " The dataset came unsplit: its products were split {:g} / {:g} / {:g} (train / val / "
        "test) in an order drawn from the run seed.",
        f.at(0).get<double>(), f.at(1).get<double>(), f.at(2).get<double>());
  }
  t.note = fmt::format(
      "Strict accuracy against the observed labels (ties count as wrong), mean over {} training "
      "seeds; 95% CI: bootstrap over products.{} Identical budget for every trainable model: at "
      "most {} per seed; the spent budget is shown (samples for the first variant). {}.{}{}{}",
      m.at("seeds").get<int>(),
      sim ? " 'vs true CTR': the same pairs labelled by the simulator's true CTR. `oracle` reads "
            "the true CTR: its observed accuracy is the ceiling that label noise allows. A "
            "(privileged) row reads the simulator's true background slots (no pixels), which no "
            "deployed model has: how much of the logged signal the background explains at all."
          : "",
      limits_text(lim), sizes,
      sim ? " Every CTR here comes from the ShopWorld simulator."
          : " The figures are on real logged clicks, not simulated: there is no true CTR, so no "
            "oracle ceiling and no true-CTR accuracy.",
      split, skipped_note(m));
  return t;
}

Table reward_accuracy_detail_table(const nlohmann::json& m, const std::string& variant) {
  Table t;
  t.title = fmt::format("Reward models on the `{}` variant: details", variant);
  t.columns = {"model",       "acc",           "ties",           "acc (ties half)",
               "both orders", "position bias", "consistency",    "AUC",
               "acc vs true", "seed sd",       "samples / seed", "device s / seed",
               "stopped by"};
  for (const auto& model : m.at("models")) {
    const std::string name = model.get<std::string>();
    const auto& mm = model_metrics(m, variant, name);
    const auto& o = mm.at("observed");
    std::string stopped = "-";
    if (mm.at("trainable").get<bool>())
      stopped = mm.at("per_seed").at(0).at("spent").at("exhausted_by").get<std::string>();
    t.rows.push_back({row_label(mm, name), acc_ci(o),
                      fmt::format("{}", o.at("ties").get<int64_t>()),
                      pct(o.at("accuracy_ties_half").get<double>()),
                      pct(mm.at("both_orders_accuracy").get<double>()),
                      fmt::format("{:+.3f}", mm.at("position_bias").get<double>()),
                      fmt::format("{:.3f}", mm.at("consistency").get<double>()),
                      fmt::format("{:.3f}", mm.at("auc").get<double>()),
                      simulated(m) ? acc_ci(mm.at("true")) : std::string("-"),
                      pct(o.at("seed_sd").get<double>()), spent_cell(mm, "samples_per_seed", 0),
                      spent_cell(mm, "device_seconds_per_seed", 1), stopped});
  }
  t.note =
      "ties: pairs (summed over seeds) where P(left better) = 0.5. both orders: accuracy when "
      "every "
      "pair is also asked with left and right swapped. position bias: mean P(left better) - 0.5 "
      "over both orders (positive prefers the left slot). consistency: share of pairs whose two "
      "orders pick the same ad. AUC of P(left better) for 'left has the higher observed CTR'.";
  return t;
}

void render_reward_accuracy_figure(const nlohmann::json& m, const std::filesystem::path& dir) {
  const auto variants = m.at("variants").get<std::vector<std::string>>();
  std::string data = "# model";
  for (const auto& v : variants) data += fmt::format(" {0}_acc {0}_lo {0}_hi", v);
  data += "\n";
  for (const auto& model : m.at("models")) {
    const std::string name = model.get<std::string>();
    data += "\"" + name + "\"";
    for (const auto& v : variants) {
      const auto& o = model_metrics(m, v, name).at("observed");
      data += fmt::format(" {:.4f} {:.4f} {:.4f}", o.at("accuracy").get<double>(),
                          o.at("ci").at("lo").get<double>(), o.at("ci").at("hi").get<double>());
    }
    data += "\n";
  }
  std::string plot =
      "set style data histogram\n"
      "set style histogram errorbars gap 1 lw 1\n"
      "set style fill solid 0.75 border -1\n"
      "set yrange [0.3:1.0]\n"
      "set grid ytics\n"
      "set ylabel 'pairwise accuracy, observed labels (95% CI)'\n"
      "set title 'Reward models on " +
      data_name(m) +
      " test pairs'\n"
      "set key top left\n"
      "set xtics rotate by -30\n"
      "plot ";
  for (size_t i = 0; i < variants.size(); ++i) {
    const size_t c = 2 + 3 * i;
    plot += fmt::format("{}'reward_accuracy.dat' using {}:{}:{}{} title '{}'", i ? ", " : "", c,
                        c + 1, c + 2, i ? "" : ":xtic(1)", variants[i]);
  }
  render_figure(dir, {"reward_accuracy", data, plot});
}

bool has_converged(const nlohmann::json& m, const std::string& variant) {
  for (const auto& model : m.at("models"))
    if (model_metrics(m, variant, model.get<std::string>()).contains("converged")) return true;
  return false;
}

bool has_curves(const nlohmann::json& m, const std::string& variant) {
  for (const auto& model : m.at("models"))
    if (model_metrics(m, variant, model.get<std::string>()).contains("curve")) return true;
  return false;
}

namespace {

// "patience x2, cap (samples) x1": how the seeds' converged trainings ended.
std::string stopped_summary(const nlohmann::json& per_seed) {
  std::map<std::string, int> n;
  for (const auto& s : per_seed) n[s.value("stopped_by", std::string("?"))]++;
  std::string out;
  for (const auto& [why, k] : n) out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", why, k);
  return out;
}

}  // namespace

Table reward_converged_table(const nlohmann::json& m, const std::string& variant) {
  Table t;
  const bool sim = simulated(m);
  t.title =
      fmt::format("Reward models on the `{}` variant: equal budget against converged", variant);
  t.columns = {"model", "equal budget acc [95% CI]", "converged acc [95% CI]"};
  if (sim) t.columns.push_back("converged vs true CTR");
  for (const char* c : {"samples / seed", "device s / seed", "stopped by"}) t.columns.push_back(c);
  for (const auto& model : m.at("models")) {
    const std::string name = model.get<std::string>();
    const auto& mm = model_metrics(m, variant, name);
    std::vector<std::string> row = {row_label(mm, name), acc_ci(mm.at("observed"))};
    if (mm.contains("converged")) {
      const auto& c = mm["converged"];
      row.push_back(acc_ci(c.at("observed")));
      if (sim) row.push_back(pct(c.at("true").at("accuracy").get<double>()));
      row.push_back(fmt::format("{:.0f}", c.at("samples_per_seed").get<double>()));
      row.push_back(fmt::format("{:.1f}", c.at("device_seconds_per_seed").get<double>()));
      row.push_back(stopped_summary(c.at("per_seed")));
    } else {
      // A fixed model (oracle, random, a zero-shot judge) is the same at every budget.
      const bool trainable = mm.at("trainable").get<bool>();
      row.push_back(trainable ? "-" : acc_ci(mm.at("observed")));
      if (sim) row.push_back(trainable ? "-" : pct(mm.at("true").at("accuracy").get<double>()));
      row.insert(row.end(), {"-", "-", trainable ? "not run" : "fixed model"});
    }
    t.rows.push_back(row);
  }
  const auto& any = m.at("datasets").at(variant).at("models");
  double cap = 0;
  int patience = 0;
  for (const auto& [k, mm] : any.items())
    if (mm.contains("converged")) {
      cap = mm["converged"].value("cap", 0.0);
      patience = mm["converged"].value("patience", 0);
    }
  t.note = fmt::format(
      "Converged: each trainable model trained on from the same start past the equal budget, "
      "evaluated on the validation pairs at the curve's points, stopped when its both-orders "
      "validation accuracy had not improved for {} evaluations or at {:g} budgets; the row "
      "shows the test accuracy at its best validation point, and the samples and device seconds "
      "(mean per seed) it took to reach it. The equal-budget column is the main table's.{}",
      patience, cap,
      sim ? " `oracle` reads the true CTR: its observed accuracy is the label-noise ceiling." : "");
  return t;
}

void render_reward_curve_figure(const nlohmann::json& m, const std::string& variant,
                                const std::filesystem::path& dir) {
  std::string data;
  std::vector<std::string> names;
  for (const auto& model : m.at("models")) {
    const std::string name = model.get<std::string>();
    const auto& mm = model_metrics(m, variant, name);
    if (!mm.contains("curve")) continue;
    names.push_back(name);
    data += "# " + name + ": samples device_seconds accuracy lo hi\n";
    for (const auto& p : mm["curve"].at("summary")) {
      const auto& a = p.at("accuracy");
      data += fmt::format("{:.1f} {:.5f} {:.5f} {:.5f} {:.5f}\n", p.at("samples").get<double>(),
                          std::max(p.at("device_seconds").get<double>(), 1e-3),
                          a.at("estimate").get<double>(), a.at("lo").get<double>(),
                          a.at("hi").get<double>());
    }
    data += "\n\n";
  }
  if (names.empty()) fail("reward curves: no model of `{}` has a learning curve", variant);
  // Fixed models (the oracle ceiling, chance) as horizontal lines of their test accuracy.
  std::string lines;
  for (const auto& model : m.at("models")) {
    const std::string name = model.get<std::string>();
    const auto& mm = model_metrics(m, variant, name);
    if (mm.at("trainable").get<bool>()) continue;
    lines += fmt::format(", {:.5f} with lines dt 3 lc rgb 'gray40' title '{} (fixed, test)'",
                         mm.at("observed").at("accuracy").get<double>(), name);
  }
  auto panel = [&](int xcol, const char* xlabel) {
    std::string p = fmt::format(
        "set logscale x\nset xlabel '{}'\nset ylabel 'validation accuracy (95% t CI over "
        "seeds)'\nset grid\nset yrange [0.3:1.0]\nset key bottom right font ',8'\n"
        "set style fill transparent solid 0.15 noborder\nplot ",
        xlabel);
    for (size_t i = 0; i < names.size(); ++i)
      p += fmt::format(
          "{}'reward_curves_{}.dat' index {} using {}:4:5 with filledcurves notitle lc {}, '' "
          "index {} using {}:3 with linespoints pt 7 ps 0.6 lc {} title '{}'",
          i ? ", " : "", variant, i, xcol, i + 1, i, xcol, i + 1, names[i]);
    return p + ", 0.5 with lines lc rgb 'black' dt 2 notitle" + lines + "\n";
  };
  Figure f;
  f.stem = "reward_curves_" + variant;
  f.data = data;
  f.plot = fmt::format(
      "set multiplot layout 1,2 title 'Learning curves on {} `{}`: accuracy on the validation "
      "pairs against budget'\n{}{}unset multiplot",
      data_name(m), variant, panel(1, "samples seen (ads)"),
      panel(2, "device seconds (training only)"));
  f.width = 1200;
  f.height = 480;
  f.multiplot = true;
  render_figure(dir, f);
}

Table reward_data_scale_table(const nlohmann::json& m) {
  const auto& ds = m.at("data_scale");
  const std::string variant = ds.at("variant").get<std::string>();
  Table t;
  t.title = fmt::format(
      "Reward models on the `{}` variant: accuracy against the number of training pairs", variant);
  t.columns = {"model",       "training products", "training pairs", "acc [95% CI]",
               "both orders", "consistency",       "samples",        "device s"};
  for (const auto& name : ds.at("models")) {
    const std::string n = name.get<std::string>();
    for (const auto& p : ds.at("points").at(n)) {
      const auto& spent = p.at("spent");
      t.rows.push_back({n == ds.value("best_baseline", "") ? n + " (best baseline)" : n,
                        fmt::format("{} ({:g}%)", p.at("train_products").get<int64_t>(),
                                    100 * p.at("fraction").get<double>()),
                        fmt::format("{}", p.at("train_pairs").get<int64_t>()),
                        acc_ci(p.at("observed")),
                        pct(p.at("both_orders").at("both").at("accuracy").get<double>()),
                        fmt::format("{:.2f}", p.at("both_orders").at("consistency").get<double>()),
                        fmt::format("{}", spent.at("samples").get<int64_t>()),
                        fmt::format("{:.1f}", spent.at("device_seconds").get<double>())});
    }
  }
  t.note = fmt::format(
      "Each model trained on seed 0 with the table's budget on the pairs of a seeded share of the "
      "training products (the whole set's row is the table's seed 0); test accuracy with its "
      "bootstrap CI over products. The paper's reward model learnt from 1.2 M samples; these "
      "points show how the accuracy moves with the data at this scale.");
  return t;
}

void render_reward_data_scale_figure(const nlohmann::json& m, const std::filesystem::path& dir) {
  const auto& ds = m.at("data_scale");
  std::string data, plot;
  int i = 0;
  for (const auto& name : ds.at("models")) {
    const std::string n = name.get<std::string>();
    data += "# " + n + ": training_pairs accuracy lo hi\n";
    for (const auto& p : ds.at("points").at(n)) {
      const auto& o = p.at("observed");
      data += fmt::format("{} {:.5f} {:.5f} {:.5f}\n", p.at("train_pairs").get<int64_t>(),
                          o.at("accuracy").get<double>(), o.at("ci").at("lo").get<double>(),
                          o.at("ci").at("hi").get<double>());
    }
    data += "\n\n";
    plot += fmt::format(
        "{}'reward_data_scale.dat' index {} using 1:2:3:4 with yerrorlines pt 7 lc {} title '{}'",
        i ? ", " : "", i, i + 1, n);
    ++i;
  }
  Figure f;
  f.stem = "reward_data_scale";
  f.data = data;
  f.plot = fmt::format(
      "set title 'Test accuracy against training pairs (`{}`, seed 0, 95% CI over products)'\n"
      "set logscale x\nset xlabel 'training pairs'\nset ylabel 'accuracy'\nset grid\n"
      "set yrange [0.3:1.0]\nset key bottom right\nplot {}, 0.5 with lines lc rgb 'black' dt 2 "
      "notitle\n",
      ds.at("variant").get<std::string>(), plot);
  render_figure(dir, f);
}

namespace {

class RewardAccuracyReport : public Report {
 public:
  std::string stage() const override { return "reward_accuracy"; }
  std::string render(const ReportContext& ctx) const override {
    if (!ctx.metrics.contains("reward_accuracy"))
      fail(
          "report reward_accuracy: metrics.json has no 'reward_accuracy' section (did the "
          "reward_accuracy stage run?)");
    const auto& m = ctx.metrics["reward_accuracy"];
    const Table main = reward_accuracy_table(m);
    main.write(ctx.dir / "tables", "reward_accuracy");
    std::string md = "## Reward models (pairwise accuracy)\n\n" + main.markdown() + "\n";
    for (const auto& v : m.at("variants")) {
      const Table d = reward_accuracy_detail_table(m, v.get<std::string>());
      d.write(ctx.dir / "tables", "reward_accuracy_" + v.get<std::string>());
      md += d.markdown() + "\n";
    }
    render_reward_accuracy_figure(m, ctx.dir / "figures");
    md += "![pairwise accuracy](figures/reward_accuracy.png)\n";
    for (const auto& vj : m.at("variants")) {
      const std::string v = vj.get<std::string>();
      if (has_converged(m, v)) {
        const Table c = reward_converged_table(m, v);
        c.write(ctx.dir / "tables", "reward_converged_" + v);
        md += "\n" + c.markdown();
      }
      if (has_curves(m, v)) {
        render_reward_curve_figure(m, v, ctx.dir / "figures");
        md += fmt::format("\n![learning curves, {0}](figures/reward_curves_{0}.png)\n", v);
      }
    }
    if (m.contains("data_scale") && !m["data_scale"].at("models").empty()) {
      const Table t = reward_data_scale_table(m);
      t.write(ctx.dir / "tables", "reward_data_scale");
      md += "\n" + t.markdown();
      render_reward_data_scale_figure(m, ctx.dir / "figures");
      md += "\n![accuracy against training pairs](figures/reward_data_scale.png)\n";
    }
    return md;
  }
};

}  // namespace

void register_reward_accuracy_report(Plugins& p) {
  p.reports.add("reward_accuracy",
                "the paper's reward-model table: pairwise accuracy with CIs per dataset variant, "
                "details (ties, position bias, AUC, true-CTR accuracy), and a bar chart",
                nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
                  return std::make_unique<RewardAccuracyReport>();
                });
}

}  // namespace caig::reports
