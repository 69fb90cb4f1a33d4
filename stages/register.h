// The stages of `caig run` (harness/stage.h): one file each, above the datasets, models, metrics
// and reports they run.
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::stages {

void register_world_stage(Plugins& p);            // world_stage.cpp
void register_pretrain_stage(Plugins& p);         // pretrain_stage.cpp
void register_reward_accuracy_stage(Plugins& p);  // reward_accuracy_stage.cpp
void register_optimise_stage(Plugins& p);         // optimise_stage.cpp
void register_optimise_map_stage(Plugins& p);     // optimise_map_stage.cpp
void register_ab_test_stage(Plugins& p);          // ab_test_stage.cpp

inline void register_plugins(Plugins& p) {
  register_world_stage(p);
  register_pretrain_stage(p);
  register_reward_accuracy_stage(p);
  register_optimise_stage(p);
  register_optimise_map_stage(p);
  register_ab_test_stage(p);
}

}  // namespace caig::stages
