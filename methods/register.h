// Registration of CAIG's own plugins (the reward model now; the prompt model and the preference
// optimisers in later issues), one per file.
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::methods {

void register_caig_reward_model(Plugins& p);  // reward/caig_reward_model.cpp

inline void register_plugins(Plugins& p) { register_caig_reward_model(p); }

}  // namespace caig::methods
