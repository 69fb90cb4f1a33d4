// The optimise_map stage's report: per value of the swept world parameter, the judge's accuracy,
// each arm's match rate and true-CTR lift over the control arm after the last iteration, and
// DPO minus PCPO (where both ran), as a table and two figures.
#include <cmath>
#include <map>

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

// One cell of the grid, after the last iteration: each arm's match rate and mean true CTR.
struct Cell {
  std::map<std::string, double> match, ctr;
};

Cell read_cell(const nlohmann::json& g) {
  Cell c;
  for (const auto& a : g.at("arms")) {
    const auto name = a.at("name").get<std::string>();
    c.match[name] = final_mean(a, "match_rate");
    c.ctr[name] = final_mean(a, "gold_ctr");
  }
  return c;
}

// The roles the tables read: the first dpo and pcpo arms, and the control (the first `none`
// arm with the first arm's prompt model).
struct Roles {
  std::vector<std::string> arms, judges;
  std::string dpo, pcpo, control;
  double lift(const Cell& c, const std::string& a) const {
    return control.empty() ? std::nan("") : 100.0 * (c.ctr.at(a) / c.ctr.at(control) - 1.0);
  }
  bool contrast() const { return !dpo.empty() && !pcpo.empty(); }
};

Roles read_roles(const nlohmann::json& g) {
  Roles r;
  for (const auto& a : g.at("arms")) {
    const auto name = a.at("name").get<std::string>();
    r.arms.push_back(name);
    const auto opt = a.at("optimiser").get<std::string>();
    if (opt == "dpo" && r.dpo.empty()) r.dpo = name;
    if (opt == "pcpo" && r.pcpo.empty()) r.pcpo = name;
    if (opt == "none" && r.control.empty() && a.at("prompt_model") == g["arms"][0]["prompt_model"])
      r.control = name;
  }
  const nlohmann::json& judges = g.at("judges");
  for (auto it = judges.begin(); it != judges.end(); ++it) r.judges.push_back(it.key());
  return r;
}

// A heat map of DPO - PCPO over (world value, value): a table and a figure with the numbers
// printed in the cells. The axes are indices labelled with the values (the grids need not be
// evenly spaced).
std::string heat_map(const ReportContext& ctx, const std::string& stem, const std::string& what,
                     const std::string& parameter, const std::vector<double>& values,
                     const std::string& world_parameter, const std::vector<double>& world_values,
                     const std::vector<std::vector<double>>& z, const char* spec) {
  Table t;
  t.title = "DPO - PCPO " + what + " over world." + world_parameter + " (rows) and world." +
            parameter + " (columns)";
  t.columns = {world_parameter};
  for (double v : values) t.columns.push_back(fmt::format("{:g}", v));
  std::string dat, xt, yt;
  for (size_t i = 0; i < world_values.size(); ++i) {
    std::vector<std::string> row = {fmt::format("{:g}", world_values[i])};
    for (size_t j = 0; j < values.size(); ++j) {
      row.push_back(cell(z[i][j], spec));
      dat += fmt::format("{} {} {:.5f}\n", j, i, std::isnan(z[i][j]) ? 0.0 : z[i][j]);
    }
    t.rows.push_back(row);
    yt += fmt::format("{}'{:g}' {}", i ? ", " : "", world_values[i], i);
  }
  for (size_t j = 0; j < values.size(); ++j)
    xt += fmt::format("{}'{:g}' {}", j ? ", " : "", values[j], j);
  t.note = "Positive: DPO above PCPO. Means over the seeds of each cell.";
  t.write(ctx.dir / "tables", stem);
  const std::string label = std::string(spec).find('%') != std::string::npos ? "%+.2f" : "%+.3f";
  const std::string plot = fmt::format(
      "set xlabel '{}' noenhanced\nset ylabel '{}' noenhanced\nset xtics ({})\nset ytics ({})\n"
      "set title 'DPO - PCPO {}'\nset palette defined (-1 'blue', 0 'white', 1 'red')\n"
      "stats '{}.dat' using 3 nooutput\nm = (abs(STATS_min) > abs(STATS_max) ? abs(STATS_min) : "
      "abs(STATS_max))\nif (m == 0) m = 1\nset cbrange [-m:m]\n"
      // white figures on the strong colours, black on the pale ones
      "plot '{}.dat' using 1:2:3 with image notitle, '' using 1:2:(sprintf('{}', $3)):"
      "(abs($3) > 0.6 * m ? 0xffffff : 0) with labels textcolor rgb variable notitle",
      parameter, world_parameter, xt, yt, what, stem, stem, label);
  render_figure(ctx.dir / "figures", {stem, dat, plot, 700, 500});
  return t.markdown() + fmt::format("\n![{}](figures/{}.png)\n", stem, stem);
}

class OptimiseMapReport : public Report {
 public:
  std::string stage() const override { return "optimise_map"; }
  std::string render(const ReportContext& ctx) const override {
    if (!ctx.metrics.contains("optimise_map"))
      fail("report optimise_map: metrics.json has no 'optimise_map' section");
    const auto& m = ctx.metrics["optimise_map"];
    const auto parameter = m.at("parameter").get<std::string>();
    const auto& rows = m.at("rows");
    if (rows.empty() || rows[0].at("grid").empty()) fail("report optimise_map: the grid is empty");
    const bool world_axis = !m.at("world_parameter").is_null();
    const std::string world_parameter = world_axis ? m["world_parameter"].get<std::string>() : "";
    const Roles roles = read_roles(rows[0]["grid"][0]);

    Table t;
    t.title = fmt::format("The loop over the world's {} (after the last iteration)",
                          world_axis ? world_parameter + " and " + parameter : parameter);
    if (world_axis) t.columns = {world_parameter, "designers match", "pretrained match"};
    t.columns.push_back(parameter);
    for (const auto& j : roles.judges) t.columns.push_back(j + " judge acc");
    for (const auto& a : roles.arms) t.columns.push_back(a + " match");
    for (const auto& a : roles.arms)
      if (a != roles.control && !roles.control.empty()) t.columns.push_back(a + " lift %");
    if (roles.contrast()) {
      t.columns.push_back("DPO - PCPO match");
      if (!roles.control.empty()) t.columns.push_back("DPO - PCPO lift %");
    }
    std::string match_dat, lift_dat;
    std::vector<std::vector<double>> heat_match, heat_lift;
    std::vector<double> values, world_values;
    for (const auto& r : rows) {
      std::vector<double> hm, hl;
      if (world_axis) world_values.push_back(r.at("value").get<double>());
      for (const auto& g : r.at("grid")) {
        const double v = g.at("value").get<double>();
        if (&r == &rows[0]) values.push_back(v);
        const Cell c = read_cell(g);
        std::vector<std::string> row;
        if (world_axis) {
          row.push_back(fmt::format("{:g}", r["value"].get<double>()));
          const auto& sd = r.at("pretraining").at("sampled_descriptions");
          row.push_back(cell(sd.at("designer_match_rate").get<double>()));
          row.push_back(cell(sd.at("match_rate").get<double>()));
        }
        row.push_back(fmt::format("{:g}", v));
        for (const auto& j : roles.judges)
          row.push_back(cell(100 * g.at("judges").at(j).at("observed").at("accuracy").get<double>(),
                             "{:.1f}"));
        if (!world_axis) {
          match_dat += fmt::format("{:g}", v);
          lift_dat += fmt::format("{:g}", v);
        }
        for (const auto& a : roles.arms) {
          row.push_back(cell(c.match.at(a)));
          if (!world_axis) match_dat += fmt::format(" {:.5f}", c.match.at(a));
        }
        for (const auto& a : roles.arms)
          if (a != roles.control && !roles.control.empty()) {
            row.push_back(cell(roles.lift(c, a), "{:+.2f}"));
            if (!world_axis) lift_dat += fmt::format(" {:.5f}", roles.lift(c, a));
          }
        if (roles.contrast()) {
          hm.push_back(c.match.at(roles.dpo) - c.match.at(roles.pcpo));
          hl.push_back(roles.lift(c, roles.dpo) - roles.lift(c, roles.pcpo));
          row.push_back(cell(hm.back(), "{:+.3f}"));
          if (!roles.control.empty()) row.push_back(cell(hl.back(), "{:+.2f}"));
        }
        if (!world_axis) {
          match_dat += "\n";
          lift_dat += "\n";
        }
        t.rows.push_back(row);
      }
      heat_match.push_back(hm);
      heat_lift.push_back(hl);
    }
    t.note = fmt::format(
        "Per value of world.{}, the logged clicks are redrawn (same products, creatives and "
        "images), the judge is retrained on them and every arm reruns the loop from the same "
        "pretrained prompt model{}; lift: the arm's mean true CTR on held-out products over the "
        "control arm's ({}), in percent. Means over {} seed(s).",
        parameter,
        world_axis ? fmt::format(" (per value of world.{}, a world of its own and a pretraining "
                                 "on it; 'designers match': the logged creatives' match rate on "
                                 "its training products, "
                                 "'pretrained match': the pretrained prompt model's)",
                                 world_parameter)
                   : "",
        roles.control.empty() ? "none" : roles.control,
        rows[0]["grid"][0]["arms"][0].at("seeds").size());
    t.write(ctx.dir / "tables", "optimise_map");
    std::string md = "## The loop over the world's " +
                     (world_axis ? world_parameter + " and " + parameter : parameter) + "\n\n" +
                     t.markdown();

    if (world_axis) {
      if (roles.contrast()) {
        md += "\n" + heat_map(ctx, "optimise_map_heat_match", "match rate", parameter, values,
                              world_parameter, world_values, heat_match, "{:+.3f}");
        if (!roles.control.empty())
          md += "\n" + heat_map(ctx, "optimise_map_heat_lift", "true-CTR lift (%)", parameter,
                                values, world_parameter, world_values, heat_lift, "{:+.2f}%");
      }
      return md;
    }
    std::string plot = fmt::format(
        "set xlabel '{}' noenhanced\nset ylabel 'match rate'\nset key outside right\nplot ",
        parameter);
    for (size_t i = 0; i < roles.arms.size(); ++i)
      plot += fmt::format("{}'optimise_map_match.dat' using 1:{} with linespoints title '{}'",
                          i ? ", " : "", i + 2, roles.arms[i]);
    render_figure(ctx.dir / "figures", {"optimise_map_match", match_dat, plot});
    md += "\n![match rate](figures/optimise_map_match.png)\n";
    if (!roles.control.empty() && roles.arms.size() > 1) {
      std::string lp = fmt::format(
          "set xlabel '{}' noenhanced\nset ylabel 'true-CTR lift over {} (%)'\nset key outside "
          "right\nplot ",
          parameter, roles.control);
      int col = 2;
      bool first = true;
      for (const auto& a : roles.arms) {
        if (a == roles.control) continue;
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
