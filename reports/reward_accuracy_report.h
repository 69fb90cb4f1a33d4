// The paper's reward-model table on ShopWorld, rendered from metrics.json ("reward_accuracy"):
// the main table (pairwise accuracy with 95% CIs per dataset variant, the spent budget beside it),
// a detailed table per variant, and a bar chart with CIs.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "reports/table.h"

namespace caig {
struct Plugins;
}

namespace caig::reports {

Table reward_accuracy_table(const nlohmann::json& m);  // m = metrics["reward_accuracy"]
Table reward_accuracy_detail_table(const nlohmann::json& m, const std::string& variant);
void render_reward_accuracy_figure(const nlohmann::json& m, const std::filesystem::path& dir);
void register_reward_accuracy_report(Plugins& p);

}  // namespace caig::reports
