#include "reports/world_report.h"

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/plugins.h"
#include "harness/report.h"
#include "reports/register.h"

namespace caig::reports {

namespace {

std::string verdict(const nlohmann::json& j) { return j.at("ok").get<bool>() ? "yes" : "NO"; }
std::string range(const nlohmann::json& target, int digits) {
  return fmt::format("[{:.{}f}, {:.{}f}]", target.at(0).get<double>(), digits,
                     target.at(1).get<double>(), digits);
}

class WorldCalibrationReport : public Report {
 public:
  std::string stage() const override { return "world"; }
  std::string render(const ReportContext& ctx) const override {
    if (!ctx.metrics.contains("world"))
      fail(
          "report world_calibration: metrics.json has no 'world' section (did the world stage "
          "run?)");
    const Table t = world_calibration_table(ctx.metrics["world"]);
    t.write(ctx.dir / "tables", "world_calibration");
    return "## ShopWorld calibration\n\n" + t.markdown();
  }
};

}  // namespace

Table world_calibration_table(const nlohmann::json& c) {
  Table t;
  t.title = "ShopWorld calibration";
  t.columns = {"figure", "value", "95% CI", "target", "in target"};
  const auto& base = c.at("base_ctr");
  t.rows.push_back(
      {"category base CTR (min..max)",
       fmt::format("{:.3f}..{:.3f}", base.at("min").get<double>(), base.at("max").get<double>()),
       "", range(base.at("target"), 2), verdict(base)});
  const auto& spread = c.at("ctr_spread_logit");
  t.rows.push_back({"CTR spread within product (logit sd)",
                    fmt::format("{:.3f}", spread.at("mean_sd").get<double>()), "",
                    range(spread.at("target"), 2), verdict(spread)});
  const auto& oracle = c.at("oracle_accuracy");
  t.rows.push_back({fmt::format("oracle accuracy, observed labels ({} pairs)",
                                oracle.at("pairs").get<int64_t>()),
                    fmt::format("{:.3f}", oracle.at("accuracy").get<double>()),
                    range(oracle.at("bootstrap_products_95"), 3), range(oracle.at("target"), 2),
                    verdict(oracle)});
  const auto& match = c.at("designer_match_rate");
  t.rows.push_back({"designers' match rate", fmt::format("{:.3f}", match.at("rate").get<double>()),
                    range(match.at("wilson_95"), 3),
                    fmt::format("rho = {:.2f} (z = {:+.2f})", match.at("rho").get<double>(),
                                match.at("z").get<double>()),
                    verdict(match)});
  const auto& n = c.at("counts");
  t.note = fmt::format(
      "{} products, {} creatives, {} pairs; mean observed CTR {:.4f}, mean true CTR {:.4f}, median "
      "impressions {:.0f}. All CTR figures come from the ShopWorld simulator; the oracle accuracy "
      "is the noise ceiling of pairwise accuracy on observed labels.",
      n.at("products").get<int64_t>(), n.at("creatives").get<int64_t>(),
      n.at("pairs").get<int64_t>(), n.at("mean_observed_ctr").get<double>(),
      n.at("mean_true_ctr").get<double>(), n.at("median_impressions").get<double>());
  return t;
}

void register_world_calibration_report(Plugins& p) {
  p.reports.add(
      "world_calibration",
      "table of ShopWorld's calibration figures against their targets (Markdown, LaTeX, CSV)",
      nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
        return std::make_unique<WorldCalibrationReport>();
      });
}

}  // namespace caig::reports
