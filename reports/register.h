#pragma once
#include "harness/plugins.h"
namespace caig::reports {
void register_plugins(Plugins& p);
}  // namespace caig::reports
