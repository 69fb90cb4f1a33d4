#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "datasets/shopworld/world_config.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/seeds.h"
#include "stages/world_output.h"

namespace caig::cli {

void add_world_command(CLI::App& app) {
  struct Options {
    std::string preset = "cpu";
    uint64_t seed = 7;
    std::string out;
    std::string experiment;
    std::vector<std::string> sets;
    bool force = false;
    bool check = false;
    int threads = 0;
  };
  auto opt = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "world",
      "generate a ShopWorld dataset (manifest, pairs, images, world.json) and a contact "
      "sheet, and print its calibration figures");
  sub->add_option("--preset", opt->preset, "preset: smoke, cpu, paper")->capture_default_str();
  sub->add_option("--seed", opt->seed, "run seed (the world's seed is derived from it)")
      ->capture_default_str();
  sub->add_option("--out", opt->out, "output directory")->required();
  sub->add_option("--config", opt->experiment, "experiment TOML whose [world] section to use");
  sub->add_option("--set", opt->sets, "override a key, e.g. --set world.rho=0.9");
  sub->add_flag("--force", opt->force, "replace an existing output directory");
  sub->add_flag("--check", opt->check,
                "exit with status 1 when a calibration figure is off target");
  sub->add_option("--threads", opt->threads, "worker threads (0: all cores)");
  sub->callback([opt] {
    ResolveRequest req{opt->experiment, opt->preset, opt->sets};
    req.sets.push_back(fmt::format("run.seed={}", opt->seed));
    const nlohmann::json cfg = resolve_config(default_config(), req);
    const auto wc = world::WorldConfig::from_json(at_path(cfg, "world"));
    const uint64_t world_seed = derive_seed(cfg.at("run").at("seed").get<uint64_t>(), "world");
    const stages::WorldOutput out =
        stages::write_world(wc, world_seed, opt->out, opt->force, opt->threads);
    std::cout << fmt::format("wrote {} ({} products, {} creatives, {} pairs) in {:.1f}s\n",
                             opt->out, wc.products, out.dataset.creatives.size(),
                             out.dataset.pairs.size(), out.generation_seconds);
    std::cout << "contact sheet: "
              << (std::filesystem::path(opt->out) / "contact_sheet.png").string() << "\n\n"
              << stages::format_calibration(out.calibration);
    if (opt->check && !out.calibration.at("ok").get<bool>()) {
      std::cerr << "caig: calibration figures off target (see the table)\n";
      std::exit(1);
    }
  });
}

}  // namespace caig::cli
