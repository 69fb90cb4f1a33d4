// The report contract: a report renders tables and figures from a run's stored JSON (never from
// live models), so `caig report RUN` can re-render without retraining. Implementations live in
// reports/; the interface is here because the runner (harness/runner.h) renders them.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace caig {

struct ReportContext {
  const nlohmann::json& config;   // resolved config of the run
  const nlohmann::json& metrics;  // metrics.json: each stage's metrics under its name
  const nlohmann::json& budget;   // budget.json
  std::filesystem::path dir;      // the run directory; reports write under it atomically
};

class Report {
 public:
  virtual ~Report() = default;
  // The stage whose metrics it reads, and the layout (schema_version) of those it knows; the
  // runner checks both before render().
  virtual std::string stage() const = 0;
  virtual int schema_version() const { return 1; }
  // Writes the report's own files and returns its Markdown section for report.md.
  virtual std::string render(const ReportContext& ctx) const = 0;
};

}  // namespace caig
