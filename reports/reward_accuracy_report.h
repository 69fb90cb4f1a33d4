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
// The learning curves and the converged table (present when the stage ran with curve_points > 0
// and converge): equal-budget against converged accuracy per model, and accuracy on the
// validation pairs against samples and against device seconds (figures/reward_curves_<v>).
bool has_curves(const nlohmann::json& m, const std::string& variant);
bool has_converged(const nlohmann::json& m, const std::string& variant);
Table reward_converged_table(const nlohmann::json& m, const std::string& variant);
// Accuracy against the number of training pairs (metrics "data_scale"): a table and a figure.
Table reward_data_scale_table(const nlohmann::json& m);
void render_reward_data_scale_figure(const nlohmann::json& m, const std::filesystem::path& dir);
void render_reward_curve_figure(const nlohmann::json& m, const std::string& variant,
                                const std::filesystem::path& dir);
void register_reward_accuracy_report(Plugins& p);

}  // namespace caig::reports
