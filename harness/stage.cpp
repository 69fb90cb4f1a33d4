#include "harness/stage.h"

#include <algorithm>

#include "harness/error.h"

namespace fs = std::filesystem;

namespace caig {

StageContext::StageContext(std::string name, const nlohmann::json& experiment,
                           const nlohmann::json& config, uint64_t seed, std::string device,
                           fs::path dir, bool resume, std::map<std::string, fs::path> inputs,
                           std::vector<std::string> outputs)
    : name_(std::move(name)),
      experiment_(experiment),
      config_(config),
      seed_(seed),
      device_(std::move(device)),
      dir_(std::move(dir)),
      resume_(resume),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)) {}

bool StageContext::has_input(const std::string& stage, const std::string& artifact) const {
  return inputs_.count(stage + "/" + artifact) > 0;
}

fs::path StageContext::input(const std::string& stage, const std::string& artifact) const {
  auto it = inputs_.find(stage + "/" + artifact);
  if (it == inputs_.end())
    fail("stage '{}' reads '{}' of stage '{}' without declaring it in reads()", name_, artifact,
         stage);
  return it->second;
}

fs::path StageContext::output(const std::string& artifact) const {
  if (std::find(outputs_.begin(), outputs_.end(), artifact) == outputs_.end())
    fail("stage '{}' writes '{}' without declaring it in writes()", name_, artifact);
  return dir_ / artifact;
}

void StageContext::spend(const std::string& what, const nlohmann::json& spent) {
  budget_[what.empty() ? name_ : name_ + "/" + what] = spent;
}

}  // namespace caig
