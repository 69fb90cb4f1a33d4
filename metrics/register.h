#pragma once
#include "harness/plugins.h"
namespace caig::metrics {
void register_plugins(Plugins& p);
}  // namespace caig::metrics
