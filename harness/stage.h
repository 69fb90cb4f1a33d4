// A stage is one step of `caig run` (world generation now; pretraining, reward models, preference
// optimisation and the online test in later issues). Stages are plugins like any other.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "harness/run_dir.h"

namespace caig {

struct StageContext {
  const nlohmann::json& experiment;  // the resolved config
  RunDir& run;
  uint64_t seed = 0;     // the run seed; stages derive their own streams from it
  std::string device;    // resolved ("cpu", "cuda")
  nlohmann::json& metrics;  // results: each stage adds metrics[stage name]
  nlohmann::json& budget;   // spent budget per stage / method
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual void run(StageContext& ctx) = 0;
};

}  // namespace caig
