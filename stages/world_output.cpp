#include "stages/world_output.h"

#include <chrono>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "datasets/io/shopworld_dir.h"
#include "datasets/shopworld/contact_sheet.h"
#include "datasets/shopworld/shopworld.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/seeds.h"
#include "metrics/world_calibration.h"
#include "reports/world_report.h"

namespace caig::stages {

namespace {

// A few products of different categories for the contact sheet: the common categories first.
std::vector<world::Product> sheet_products(const world::ShopWorld& w, size_t count) {
  std::vector<world::Product> out;
  std::vector<bool> seen(world::categories().size(), false);
  for (int c : world::common_categories())
    for (const auto& p : w.products())
      if (p.category == c && !seen[static_cast<size_t>(c)]) {
        seen[static_cast<size_t>(c)] = true;
        out.push_back(p);
        break;
      }
  for (const auto& p : w.products()) {
    if (out.size() >= count) break;
    if (!seen[static_cast<size_t>(p.category)]) {
      seen[static_cast<size_t>(p.category)] = true;
      out.push_back(p);
    }
  }
  out.resize(std::min(out.size(), count));
  return out;
}

}  // namespace

WorldOutput write_world(const world::WorldConfig& config, uint64_t world_seed,
                        const std::filesystem::path& dir, bool overwrite, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  world::ShopWorld w(config, world_seed);
  data::DatasetDirWriter writer(dir, overwrite);
  WorldOutput out;
  out.dataset = w.generate_history({writer.staging(), threads});
  out.generation_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const cv::Mat sheet =
      world::make_contact_sheet(sheet_products(w, 8), 64, derive_seed(world_seed, "contact_sheet"));
  const auto sheet_path = writer.staging() / "contact_sheet.png";
  if (!cv::imwrite(sheet_path.string(), sheet)) fail("cannot write {}", sheet_path.string());
  out.calibration = metrics::world_calibration(out.dataset, out.dataset.world,
                                               derive_seed(world_seed, "calibration"));
  write_json_atomic(writer.staging() / "calibration.json", out.calibration);
  writer.commit(out.dataset);
  out.dataset.root = dir;
  return out;
}

std::string format_calibration(const nlohmann::json& c) {
  return reports::world_calibration_table(c).markdown();
}

}  // namespace caig::stages
