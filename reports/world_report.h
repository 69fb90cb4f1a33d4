// Renders ShopWorld's calibration figures (metrics JSON) as a table.
#pragma once

#include <nlohmann/json.hpp>

#include "reports/table.h"

namespace caig::reports {

Table world_calibration_table(const nlohmann::json& calibration);

}  // namespace caig::reports
