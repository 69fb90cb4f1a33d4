// Registration of the report plugins (harness/report.h), one per file.
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::reports {

void register_world_calibration_report(Plugins& p);  // world_report.cpp
void register_pretraining_report(Plugins& p);        // pretraining_report.cpp
void register_reward_accuracy_report(Plugins& p);    // reward_accuracy_report.cpp
void register_optimise_report(Plugins& p);           // optimise_report.cpp
void register_optimise_map_report(Plugins& p);       // optimise_map_report.cpp
void register_ab_test_report(Plugins& p);            // ab_test_report.cpp

inline void register_plugins(Plugins& p) {
  register_world_calibration_report(p);
  register_pretraining_report(p);
  register_reward_accuracy_report(p);
  register_optimise_report(p);
  register_optimise_map_report(p);
  register_ab_test_report(p);
}

}  // namespace caig::reports
