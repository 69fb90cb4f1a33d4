#include "rewards/saved_model.h"

#include <unistd.h>

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/plugins.h"

namespace fs = std::filesystem;

namespace caig::rewards {

namespace {
constexpr const char* kFormat = "caig-reward-model";
constexpr int kVersion = 1;
}  // namespace

void save_reward_model(const RewardModel& model, const std::string& name,
                       const nlohmann::json& config, const nlohmann::json& trained_on,
                       const fs::path& dir) {
  if (!model.savable()) fail("reward model '{}' cannot be saved", name);
  const fs::path tmp = dir.string() + fmt::format(".tmp-{}", ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  model.save(tmp);
  write_json_atomic(tmp / "reward_model.json", {{"format", kFormat},
                                                {"version", kVersion},
                                                {"model", name},
                                                {"config", config},
                                                {"info", model.info()},
                                                {"trained_on", trained_on}});
  fs::remove_all(dir);
  fs::rename(tmp, dir);
}

LoadedRewardModel read_reward_model_record(const fs::path& dir) {
  const fs::path meta = dir / "reward_model.json";
  if (!fs::exists(meta))
    fail("{} is not a saved reward model (no reward_model.json)", dir.string());
  const nlohmann::json j = read_json(meta);
  if (j.value("format", "") != kFormat)
    fail("{}: format is '{}', not '{}'", meta.string(), j.value("format", ""), kFormat);
  if (j.value("version", 0) != kVersion)
    fail("{}: version {} is not the one this caig reads ({})", meta.string(), j.value("version", 0),
         kVersion);
  LoadedRewardModel out;
  try {
    out.name = j.at("model").get<std::string>();
    out.config = j.at("config");
    out.info = j.value("info", nlohmann::json::object());
    out.trained_on = j.value("trained_on", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: {}", meta.string(), e.what());
  }
  return out;
}

LoadedRewardModel load_reward_model(const fs::path& dir, const std::string& device) {
  LoadedRewardModel out = read_reward_model_record(dir);
  const fs::path meta = dir / "reward_model.json";
  // The recorded config is complete; it still checks against this caig's defaults.
  out.model = plugins().reward_models.create(out.name, out.config, PluginContext{}, meta.string());
  out.model->load(dir, device);
  return out;
}

}  // namespace caig::rewards
