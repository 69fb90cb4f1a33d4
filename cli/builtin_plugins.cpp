// The explicit list of built-in plugins: a plugin is linked in because it is named here, so static
// linking cannot drop one (tests/harness checks the registered set).
#include <mutex>

#include "baselines/register.h"
#include "datasets/register.h"
#include "harness/budget.h"
#include "harness/config.h"
#include "harness/plugins.h"
#include "harness/runner.h"
#include "methods/register.h"
#include "optimisers/register.h"
#include "prompts/register.h"
#include "reports/register.h"
#include "rewards/register.h"
#include "stages/register.h"

namespace caig {

void register_builtin_plugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    Plugins& p = plugins();
    add_config_section("run", run_config_defaults());
    add_config_section("budget", BudgetLimits{}.to_json());
    add_config_section("stages", nlohmann::json::object());  // per-stage configs, by stage name
    datasets::register_plugins(p);
    reports::register_plugins(p);
    stages::register_plugins(p);
    methods::register_plugins(p);
    baselines::register_plugins(p);
    rewards::register_plugins(p);
    prompts::register_plugins(p);
    optimisers::register_plugins(p);
  });
}

}  // namespace caig
