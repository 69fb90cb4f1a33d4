// The optimise_map stage's report: per value of the swept world parameter, the judge's accuracy,
// each arm's match rate and true-CTR lift over the control arm after the last iteration, and
// DPO minus PCPO (where both ran), as a table and two figures.
#include <fmt/format.h>

#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/report.h"
#include "reports/figure.h"
#include "reports/register.h"
#include "reports/table.h"

namespace caig::reports {

namespace {

// The last row's mean of `key` in an arm's summary; NaN when absent.
double final_mean(const nlohmann::json& arm, const char* key) {
  const auto& s = arm.at("summary");
  if (s.empty() || !s.back().contains(key) || !s.back()[key].is_object()) return std::nan("");
  return s.back()[key].at("mean").get<double>();
}

std::string cell(double v, const char* fmt_spec = "{:.3f}") {
  return std::isnan(v) ? "" : fmt::format(fmt::runtime(fmt_spec), v);
}

class OptimiseMapReport : public Report {
 public:
  std::string stage() const override { return "optimise_map"; }
  std::string render(const ReportContext& ctx) const override {
    if (!ctx.metrics.contains("optimise_map"))
      fail("report optimise_map: metrics.json has no 'optimise_map' section");
    const auto& m = ctx.metrics["optimise_map"];
    const auto parameter = m.at("parameter").get<std::string>();
    const auto& grid = m.at("grid");
    if (grid.empty()) fail("report optimise_map: the grid is empty");
    std::vector<std::string> arm_names, judges;
    std::string dpo, pcpo, control;
    for (const auto& a : grid[0].at("arms")) {
      const auto name = a.at("name").get<std::string>();
      arm_names.push_back(name);
      const auto opt = a.at("optimiser").get<std::string>();
      if (opt == "dpo" && dpo.empty()) dpo = name;
      if (opt == "pcpo" && pcpo.empty()) pcpo = name;
      if (opt == "none" && control.empty() &&
          a.at("prompt_model") == grid[0]["arms"][0]["prompt_model"])
        control = name;
    }
    for (const auto& [j, v] : grid[0].at("judges").items()) judges.push_back(j);

    Table t;
    t.title = fmt::format("The loop over the world's {} (after the last iteration)", parameter);
    t.columns = {parameter};
    for (const auto& j : judges) t.columns.push_back(j + " judge acc");
    for (const auto& a : arm_names) t.columns.push_back(a + " match");
    for (const auto& a : arm_names)
      if (a != control && !control.empty()) t.columns.push_back(a + " lift %");
    if (!dpo.empty() && !pcpo.empty()) {
      t.columns.push_back("DPO - PCPO match");
      if (!control.empty()) t.columns.push_back("DPO - PCPO lift %");
    }
    std::string match_dat, lift_dat;
    for (const auto& g : grid) {
      const double v = g.at("value").get<double>();
      std::vector<std::string> row = {fmt::format("{:g}", v)};
      for (const auto& j : judges)
        row.push_back(
            cell(100 * g.at("judges").at(j).at("observed").at("accuracy").get<double>(), "{:.1f}"));
      std::map<std::string, double> match, ctr;
      for (const auto& a : g.at("arms")) {
        const auto name = a.at("name").get<std::string>();
        match[name] = final_mean(a, "match_rate");
        ctr[name] = final_mean(a, "gold_ctr");
      }
      auto lift = [&](const std::string& a) {
        return control.empty() ? std::nan("") : 100.0 * (ctr[a] / ctr[control] - 1.0);
      };
      match_dat += fmt::format("{:g}", v);
      lift_dat += fmt::format("{:g}", v);
      for (const auto& a : arm_names) {
        row.push_back(cell(match[a]));
        match_dat += fmt::format(" {:.5f}", match[a]);
      }
      for (const auto& a : arm_names)
        if (a != control && !control.empty()) {
          row.push_back(cell(lift(a), "{:+.2f}"));
          lift_dat += fmt::format(" {:.5f}", lift(a));
        }
      if (!dpo.empty() && !pcpo.empty()) {
        row.push_back(cell(match[dpo] - match[pcpo], "{:+.3f}"));
        if (!control.empty()) row.push_back(cell(lift(dpo) - lift(pcpo), "{:+.2f}"));
      }
      match_dat += "\n";
      lift_dat += "\n";
      t.rows.push_back(row);
    }
    t.note = fmt::format(
        "Per value of world.{}, the logged clicks are redrawn (same products, creatives and "
        "images), the judge is retrained on them and every arm reruns the loop from the same "
        "pretrained prompt model; lift: the arm's mean true CTR on held-out products over the "
        "control arm's ({}), in percent. Means over {} seed(s).",
        parameter, control.empty() ? "none" : control, grid[0]["arms"][0].at("seeds").size());
    t.write(ctx.dir / "tables", "optimise_map");

    std::string plot = fmt::format(
        "set xlabel '{}'\nset ylabel 'match rate'\nset key outside right\nplot ", parameter);
    for (size_t i = 0; i < arm_names.size(); ++i)
      plot += fmt::format("{}'optimise_map_match.dat' using 1:{} with linespoints title '{}'",
                          i ? ", " : "", i + 2, arm_names[i]);
    render_figure(ctx.dir / "figures", {"optimise_map_match", match_dat, plot});
    std::string md = "## The loop over the world's " + parameter + "\n\n" + t.markdown() +
                     "\n![match rate](figures/optimise_map_match.png)\n";
    if (!control.empty() && arm_names.size() > 1) {
      std::string lp = fmt::format(
          "set xlabel '{}'\nset ylabel 'true-CTR lift over {} (%)'\nset key outside right\nplot ",
          parameter, control);
      int col = 2;
      bool first = true;
      for (const auto& a : arm_names) {
        if (a == control) continue;
        lp += fmt::format("{}'optimise_map_lift.dat' using 1:{} with linespoints title '{}'",
                          first ? "" : ", ", col++, a);
        first = false;
      }
      render_figure(ctx.dir / "figures", {"optimise_map_lift", lift_dat, lp});
      md += "\n![lift](figures/optimise_map_lift.png)\n";
    }
    return md;
  }
};

}  // namespace

void register_optimise_map_report(Plugins& p) {
  p.reports.add("optimise_map",
                "the loop over a grid of a world parameter: per value, the judge's accuracy, each "
                "arm's match rate and true-CTR lift, DPO minus PCPO (table and figures)",
                nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
                  return std::make_unique<OptimiseMapReport>();
                });
}

}  // namespace caig::reports
