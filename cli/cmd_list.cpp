#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "harness/config.h"
#include "harness/plugins.h"

namespace caig::cli {

namespace {
template <class R>
void print_kind(const R& registry, const std::string& heading) {
  std::cout << heading << ":\n";
  if (registry.entries().empty()) std::cout << "  (none yet)\n";
  for (const auto& [name, e] : registry.entries())
    std::cout << fmt::format("  {:<22} {}\n", name, e.help);
}
}  // namespace

void add_list_command(CLI::App& app) {
  auto* sub =
      app.add_subcommand("list", "list registered plugins by kind, with one line of help each");
  sub->callback([] {
    const Plugins& p = plugins();
    print_kind(p.datasets, "datasets");
    print_kind(p.reward_models, "reward models");
    print_kind(p.prompt_models, "prompt models");
    print_kind(p.renderers, "renderers");
    print_kind(p.optimisers, "optimisers");
    print_kind(p.reports, "reports");
    print_kind(p.stages, "stages");
    std::cout << "presets:\n";
    for (const auto& n : preset_names()) std::cout << "  " << n << "\n";
  });
}

}  // namespace caig::cli
