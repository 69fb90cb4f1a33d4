// Registration of the reward models that wrap researchers' own models: `external` (a process
// speaking JSON lines) and `torchscript` (a scripted module file), one per file.
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::rewards {

void register_external_rm(Plugins& p);     // external_rm.cpp
void register_torchscript_rm(Plugins& p);  // torchscript_rm.cpp

inline void register_plugins(Plugins& p) {
  register_external_rm(p);
  register_torchscript_rm(p);
}

}  // namespace caig::rewards
