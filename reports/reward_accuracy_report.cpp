#include "reports/reward_accuracy_report.h"

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

std::string spent_cell(const nlohmann::json& mm, const char* key, int digits) {
  if (!mm.at("trainable").get<bool>()) return "-";
  return fmt::format("{:.{}f}", mm.at("spent").at(key).get<double>(), digits);
}

}  // namespace

Table reward_accuracy_table(const nlohmann::json& m) {
  Table t;
  t.title = "Reward models: pairwise accuracy (%) on ShopWorld test pairs";
  t.columns = {"model"};
  const auto variants = m.at("variants").get<std::vector<std::string>>();
  for (const auto& v : variants) {
    t.columns.push_back(v + " acc [95% CI]");
    t.columns.push_back(v + " acc vs true CTR");
  }
  t.columns.push_back("samples / seed");
  t.columns.push_back("device s / seed");
  for (const auto& model : m.at("models")) {
    const std::string name = model.get<std::string>();
    std::vector<std::string> row = {name};
    for (const auto& v : variants) {
      const auto& mm = model_metrics(m, v, name);
      row.push_back(acc_ci(mm.at("observed")));
      row.push_back(pct(mm.at("true").at("accuracy").get<double>()));
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
  t.note = fmt::format(
      "Strict accuracy against the observed labels (ties count as wrong), mean over {} training "
      "seeds; 95% CI: bootstrap over products. 'vs true CTR': the same pairs labelled by the "
      "simulator's true CTR. `oracle` reads the true CTR: its observed accuracy is the ceiling "
      "that label noise allows. Identical budget for every trainable model: at most {} samples "
      "(ads seen) and {} device seconds per seed; the spent budget is shown (samples for the "
      "first variant). {}.{}",
      m.at("seeds").get<int>(), lim.at("max_samples").get<int64_t>(),
      lim.at("max_device_seconds").get<double>(), sizes,
      // Stored tables from before the stage recorded it were all simulated.
      m.value("simulated", true) ? " Every CTR here comes from the ShopWorld simulator."
                                 : " The figures are on logged clicks, not simulated.");
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
    t.rows.push_back({name, acc_ci(o), fmt::format("{}", o.at("ties").get<int64_t>()),
                      pct(o.at("accuracy_ties_half").get<double>()),
                      pct(mm.at("both_orders_accuracy").get<double>()),
                      fmt::format("{:+.3f}", mm.at("position_bias").get<double>()),
                      fmt::format("{:.3f}", mm.at("consistency").get<double>()),
                      fmt::format("{:.3f}", mm.at("auc").get<double>()), acc_ci(mm.at("true")),
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
      "set title 'Reward models on ShopWorld test pairs'\n"
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
