// The explicit list of built-in plugins: a plugin is linked in because it is named here, so static
// linking cannot drop one (tests/harness checks the registered set).
#include <mutex>

#include "baselines/register.h"
#include "datasets/register.h"
#include "harness/budget.h"
#include "harness/cli/stages.h"
#include "harness/config.h"
#include "harness/plugins.h"
#include "methods/reward/caig_reward_model.h"
#include "metrics/register.h"
#include "reports/register.h"
#include "rewards/register.h"

namespace caig {

namespace {

nlohmann::json run_defaults() {
  return {{"name", ""},        // defaults to the experiment file's stem
          {"experiment", ""},  // set by `caig run`
          {"preset", "cpu"},   // set by --preset
          {"seed", 7},         // derives every RNG of the run
          {"device", "auto"},  // auto, cpu, cuda, cuda:N
          {"threads", 0},  // LibTorch intra-op threads; 0: OMP_NUM_THREADS, else one per usable CPU
          {"out_dir", "runs"},  // run directories go under it
          {"stages", {"world"}}, {"reports", {"world_calibration"}}};
}

}  // namespace

void register_builtin_plugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    Plugins& p = plugins();
    add_config_section("run", run_defaults());
    add_config_section("budget", BudgetLimits{}.to_json());
    add_config_section("stages", nlohmann::json::object());  // per-stage configs, by stage name
    datasets::register_plugins(p);
    metrics::register_plugins(p);
    reports::register_plugins(p);
    cli::register_stages(p);
    cli::register_pretrain_stage(p);
    cli::register_reward_accuracy_stage(p);
    reward::register_plugins(p);
    baselines::register_plugins(p);
    rewards::register_plugins(p);
  });
}

}  // namespace caig
