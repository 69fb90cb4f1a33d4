// Renders the pretraining figures (metrics JSON of the `pretrain` stage) as a table.
#pragma once

#include <nlohmann/json.hpp>

#include "reports/table.h"

namespace caig::reports {

Table pretraining_table(const nlohmann::json& pretrain_metrics);

}  // namespace caig::reports
