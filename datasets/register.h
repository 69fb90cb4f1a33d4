#pragma once
#include "harness/plugins.h"
namespace caig::datasets {
// Dataset sources and renderers, plus the [world] config section.
void register_plugins(Plugins& p);
}  // namespace caig::datasets
