// Report plugins: render tables and figures from a run's results JSON (never from live models),
// so `caig report RUN` can re-render without retraining.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace caig {

struct ReportContext {
  const nlohmann::json& config;   // resolved config of the run
  const nlohmann::json& metrics;  // metrics.json
  const nlohmann::json& budget;   // budget.json
  std::filesystem::path dir;      // the run directory; reports write under it atomically
};

class Report {
 public:
  virtual ~Report() = default;
  // Writes the report's own files and returns its Markdown section for report.md.
  virtual std::string render(const ReportContext& ctx) const = 0;
};

}  // namespace caig
