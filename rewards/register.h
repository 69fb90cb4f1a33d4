// Registration of the reward models that wrap researchers' own models: `external` (a process
// speaking JSON lines) and `torchscript` (a scripted module file).
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::rewards {

void register_plugins(Plugins& p);

}  // namespace caig::rewards
