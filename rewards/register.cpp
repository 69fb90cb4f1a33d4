#include "rewards/register.h"

namespace caig::rewards {

void register_external_rm(Plugins& p);     // external_rm.cpp
void register_torchscript_rm(Plugins& p);  // torchscript_rm.cpp

void register_plugins(Plugins& p) {
  register_external_rm(p);
  register_torchscript_rm(p);
}

}  // namespace caig::rewards
