#include <iostream>

#include "cli/commands.h"
#include "datasets/dataset_source.h"
#include "datasets/io/inspect.h"
#include "harness/config.h"
#include "harness/files.h"
#include "harness/plugins.h"

namespace caig::cli {

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "work with datasets");
  data->require_subcommand(1);
  struct Options {
    std::string path, images;
    bool lenient = false, json = false, no_images = false;
    std::vector<std::string> sets;
    uint64_t seed = 7;
  };
  auto opt = std::make_shared<Options>();
  auto* inspect = data->add_subcommand(
      "inspect",
      "load a dataset (ShopWorld directory, CreativeRanking TSV, CG4CTR/CAIG JSON) and "
      "print products, creatives, impressions, pairs under the rule and invalid records");
  inspect->add_option("path", opt->path, "dataset directory or file")->required();
  inspect->add_option("--images", opt->images,
                      "image folder of a TSV/JSON dataset (default: ./images beside it)");
  inspect->add_flag("--lenient", opt->lenient,
                    "skip and count bad records instead of stopping at the first");
  inspect->add_flag("--no-image-check", opt->no_images, "do not require image files to exist");
  inspect->add_option("--set", opt->sets,
                      "pair-rule override, e.g. --set world.pairs.min_ratio=1.1");
  inspect->add_option("--seed", opt->seed, "seed for left/right placement of rebuilt pairs");
  inspect->add_flag("--json", opt->json, "print the summary as JSON");
  inspect->callback([opt] {
    nlohmann::json cfg = resolve_config(default_config(), {"", "cpu", opt->sets});
    // The format picks the registered dataset source that reads it.
    const auto where = data::locate_dataset(opt->path, opt->images);
    nlohmann::json source = {{"path", where.path.string()},
                             {"lenient", opt->lenient},
                             {"check_images", !opt->no_images}};
    if (!where.images.empty()) source["images"] = where.images.string();
    const data::Dataset d =
        plugins()
            .datasets.create(where.source, source, PluginContext{&cfg, opt->seed}, "data inspect")
            ->load();
    const nlohmann::json summary =
        data::inspect_dataset(d, data::PairRule::from_json(at_path(cfg, "world.pairs")));
    std::cout << (opt->json ? summary.dump(2) + "\n" : data::format_inspect(summary));
  });
}

}  // namespace caig::cli
