// The optimise stage's report: the match-rate curve per arm (the paper's second result) as a
// table and a figure with 95% bands, the final iteration's figures per arm (match, proxy and gold
// reward, KL, distinct descriptions, pairs, budget spent), and the over-optimisation figure: the
// judge's win rate over the reference (proxy) and the world's (gold) against KL.
#include <fmt/format.h>

#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/report.h"
#include "reports/figure.h"
#include "reports/register.h"
#include "reports/table.h"

namespace caig::reports {

namespace {

const nlohmann::json& stat(const nlohmann::json& row, const char* key) {
  static const nlohmann::json none;
  return row.contains(key) && row[key].is_object() ? row[key] : none;
}

std::string value(const nlohmann::json& s, int digits = 3) {
  if (!s.is_object()) return "";
  std::string out = fmt::format("{:.{}f}", s.at("mean").get<double>(), digits);
  if (s.contains("interval"))
    out += fmt::format(" [{:.{}f}, {:.{}f}]", s["interval"][0].get<double>(), digits,
                       s["interval"][1].get<double>(), digits);
  return out;
}

double mean_or(const nlohmann::json& s, double fallback) {
  return s.is_object() ? s.at("mean").get<double>() : fallback;
}

class OptimiseReport : public Report {
 public:
  std::string stage() const override { return "optimise"; }
  std::string render(const ReportContext& ctx) const override {
    if (!ctx.metrics.contains("optimise"))
      fail("report optimise: metrics.json has no 'optimise' section (did the optimise stage run?)");
    const auto& m = ctx.metrics["optimise"];
    const auto& arms = m.at("arms");
    const auto& loop = m.at("loop");
    int64_t iterations = 0;
    for (const auto& a : arms)
      iterations = std::max<int64_t>(iterations, static_cast<int64_t>(a.at("summary").size()));

    Table curve;
    curve.title = "Match rate of sampled descriptions per iteration (held-out products)";
    curve.columns = {"arm"};
    for (int64_t i = 0; i < iterations; ++i) curve.columns.push_back(fmt::format("it {}", i));
    for (const auto& a : arms) {
      std::vector<std::string> row = {a.at("name").get<std::string>()};
      for (const auto& r : a.at("summary")) row.push_back(value(stat(r, "match_rate")));
      row.resize(curve.columns.size());
      curve.rows.push_back(row);
    }
    const auto seeds = arms.empty() ? 0 : arms[0].at("seeds").size();
    curve.note = fmt::format(
        "{} seeds; {} held-out products ({} split), {} descriptions each at temperature 1. "
        "Intervals: 95% t over seeds (one seed: bootstrap over products). The paper (5 epochs): "
        "DPO 0.842 -> 0.597, PCPO 0.798.",
        seeds, m.at("eval_products").get<int64_t>(), loop.at("eval_split").get<std::string>(),
        loop.at("eval_samples_per_product").get<int64_t>());
    curve.write(ctx.dir / "tables", "optimise_match_rate");

    Table last;
    last.title = "After the last iteration, per arm";
    last.columns = {"arm",      "judge",      "match rate", "well formed", "proxy win",
                    "gold win", "gold CTR %", "KL",         "distinct",    "judge-gold agree",
                    "pairs/it", "device s"};
    for (const auto& a : arms) {
      const auto& s = a.at("summary");
      if (s.empty()) continue;
      const auto& r = s.back();
      double device = 0;
      for (const auto& sd : a.at("seeds")) {
        const auto key = fmt::format("optimise/{}/seed{}", a.at("name").get<std::string>(),
                                     sd.at("seed").get<int64_t>());
        if (ctx.budget.contains(key)) device += ctx.budget[key].value("device_seconds", 0.0);
      }
      std::string gold_ctr;
      if (stat(r, "gold_ctr").is_object())
        gold_ctr = fmt::format("{:.3f}", 100 * stat(r, "gold_ctr").at("mean").get<double>());
      last.rows.push_back(
          {a.at("name").get<std::string>(), a.at("judge").get<std::string>(),
           value(stat(r, "match_rate")), value(stat(r, "well_formed_rate")),
           value(stat(r, "proxy_win_rate")), value(stat(r, "gold_win_rate")), gold_ctr,
           value(stat(r, "kl")), value(stat(r, "distinct_rate")),
           value(stat(r, "judge_gold_agreement")), value(stat(r, "pairs"), 0),
           fmt::format("{:.1f}", device / std::max<size_t>(1, a.at("seeds").size()))});
    }
    last.note =
        "proxy win: the judge's P(the arm's ad beats the reference prompt model's ad of the same "
        "product and render seed); gold win: how often its true CTR does (the world's ground "
        "truth); KL: mean log pi/ref of the arm's own samples; judge-gold agree: share of the "
        "last iteration's training pairs whose chosen ad has the higher true CTR; device s: the "
        "arm's budget spent per seed (sampling, rendering, judging, reference, training).";
    last.write(ctx.dir / "tables", "optimise_final");

    // Figures: the curve with bands, and proxy / gold against KL.
    std::string curve_data, over_data;
    for (const auto& a : arms) {
      curve_data += "# " + a.at("name").get<std::string>() + "\n";
      over_data += "# " + a.at("name").get<std::string>() + "\n";
      for (const auto& r : a.at("summary")) {
        const auto& mr = stat(r, "match_rate");
        if (!mr.is_object()) continue;
        const double mean = mr.at("mean").get<double>();
        const double lo = mr.contains("interval") ? mr["interval"][0].get<double>() : mean;
        const double hi = mr.contains("interval") ? mr["interval"][1].get<double>() : mean;
        curve_data += fmt::format("{} {:.5f} {:.5f} {:.5f}\n", r.at("iteration").get<int64_t>(),
                                  mean, lo, hi);
        over_data += fmt::format("{:.5f} {:.5f} {:.5f}\n", mean_or(stat(r, "kl"), 0.0),
                                 mean_or(stat(r, "proxy_win_rate"), 0.5),
                                 mean_or(stat(r, "gold_win_rate"), 0.5));
      }
      curve_data += "\n\n";
      over_data += "\n\n";
    }
    std::string plot =
        "set xlabel 'iteration'\nset ylabel 'match rate'\nset key outside right\n"
        "set style fill transparent solid 0.2 noborder\nset xtics 1\nplot ";
    for (size_t i = 0; i < arms.size(); ++i)
      plot += fmt::format(
          "{}'optimise_match_rate.dat' index {} using 1:3:4 with filledcurves notitle lc {}, "
          "'' index {} using 1:2 with linespoints lc {} title '{}'",
          i ? ", " : "", i, i + 1, i, i + 1, arms[i].at("name").get<std::string>());
    render_figure(ctx.dir / "figures", {"optimise_match_rate", curve_data, plot});
    std::string over =
        "set xlabel 'KL to the reference (nats)'\nset ylabel 'win rate over the reference'\n"
        "set key outside right\nplot ";
    for (size_t i = 0; i < arms.size(); ++i)
      over += fmt::format(
          "{}'optimise_overoptimisation.dat' index {} using 1:2 with linespoints lc {} dt 2 "
          "title '{} proxy', '' index {} using 1:3 with linespoints lc {} title '{} gold'",
          i ? ", " : "", i, i + 1, arms[i].at("name").get<std::string>(), i, i + 1,
          arms[i].at("name").get<std::string>());
    render_figure(ctx.dir / "figures", {"optimise_overoptimisation", over_data, over});

    return "## CTR-driven optimisation\n\n" + curve.markdown() + "\n" +
           "![match rate](figures/optimise_match_rate.png)\n\n" + last.markdown() + "\n" +
           "![over-optimisation](figures/optimise_overoptimisation.png)\n";
  }
};

}  // namespace

void register_optimise_report(Plugins& p) {
  p.reports.add("optimise",
                "the CTR-driven loop: match-rate curve per arm (table and figure with 95% bands), "
                "the last iteration's figures per arm, and proxy / gold reward against KL",
                nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
                  return std::make_unique<OptimiseReport>();
                });
}

}  // namespace caig::reports
