#include "stages/stage_data.h"

#include "datasets/dataset_source.h"
#include "datasets/io/inspect.h"
#include "harness/error.h"
#include "harness/plugins.h"

namespace caig::stages {

data::Dataset load_stage_dataset(const std::filesystem::path& path,
                                 const nlohmann::json& experiment, uint64_t seed,
                                 const std::string& what, const std::filesystem::path& images) {
  const auto where = data::locate_dataset(path, images);
  nlohmann::json source = {{"path", where.path.string()}};
  if (!where.images.empty()) source["images"] = where.images.string();
  return plugins()
      .datasets.create(where.source, source, PluginContext{&experiment, seed}, what)
      ->load();
}

}  // namespace caig::stages
