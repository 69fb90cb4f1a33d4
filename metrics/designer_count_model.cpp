#include "metrics/designer_count_model.h"

#include <cmath>
#include <limits>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/click_model.h"
#include "datasets/shopworld/grammar.h"
#include "harness/error.h"

namespace caig::metrics {

namespace {

template <size_t N>
double total(const std::array<double, N>& a) {
  double s = 0;
  for (double v : a) s += v;
  return s;
}

// Add-alpha probability of `value` under `counts` (uniform for a category never seen).
template <size_t N>
double smoothed(const std::map<int, std::array<double, N>>& counts, int category, int value,
                double alpha) {
  const auto it = counts.find(category);
  if (it == counts.end()) return 1.0 / static_cast<double>(N);
  return (it->second[static_cast<size_t>(value)] + alpha) /
         (total(it->second) + alpha * static_cast<double>(N));
}

}  // namespace

double DesignerCountModel::scene_probability(int category, int scene) const {
  return smoothed(scene_counts, category, scene, alpha);
}

double DesignerCountModel::style_probability(int category, int style) const {
  return smoothed(style_counts, category, style, alpha);
}

double DesignerCountModel::match_probability(int category, double threshold) const {
  double p = 0;
  for (int scene = 0; scene < world::kNumScenes; ++scene)
    for (int style = 0; style < world::kNumStyles; ++style) {
      world::Background b;
      b.scene = scene;
      b.style = style;
      if (world::match_score(category, b) >= threshold)
        p += scene_probability(category, scene) * style_probability(category, style);
    }
  return p;
}

nlohmann::json DesignerCountModel::to_json() const {
  return {
      {"alpha", alpha}, {"loo_log_likelihood", loo_log_likelihood}, {"descriptions", descriptions}};
}

DesignerCountModel fit_designer_count_model(const data::Dataset& d, const std::string& split,
                                            const std::vector<double>& alphas) {
  if (alphas.empty()) fail("designer count model: no alpha to choose from");
  for (double a : alphas)
    if (!(a > 0)) fail("designer count model: alpha must be > 0, got {}", a);
  struct Row {
    int category, scene, style;
  };
  std::vector<Row> rows;
  DesignerCountModel m;
  for (const auto& c : d.creatives) {
    if (c.split != split) continue;
    const int category = world::category_index(c.category);
    if (category < 0)
      fail("designer count model: creative {} has unknown category '{}'", c.creative_id,
           c.category);
    const auto b = world::parse_description(c.description).background;
    if (b.scene < 0 || b.style < 0)
      fail("designer count model: creative {} has no scene or style in its description '{}'",
           c.creative_id, c.description);
    rows.push_back({category, b.scene, b.style});
    m.scene_counts[category][static_cast<size_t>(b.scene)] += 1;
    m.style_counts[category][static_cast<size_t>(b.style)] += 1;
  }
  if (rows.empty()) fail("designer count model: no creatives in split '{}'", split);
  m.descriptions = static_cast<int64_t>(rows.size());

  // Leave-one-out: each description is scored by the counts of the others in its category.
  double best = -std::numeric_limits<double>::infinity();
  for (double a : alphas) {
    double ll = 0;
    for (const auto& r : rows) {
      const auto& sc = m.scene_counts.at(r.category);
      const auto& st = m.style_counts.at(r.category);
      const double n = total(sc) - 1;
      ll += std::log((sc[static_cast<size_t>(r.scene)] - 1 + a) / (n + a * world::kNumScenes));
      ll += std::log((st[static_cast<size_t>(r.style)] - 1 + a) / (n + a * world::kNumStyles));
    }
    ll /= static_cast<double>(rows.size());
    if (ll > best) {
      best = ll;
      m.alpha = a;
    }
  }
  m.loo_log_likelihood = best;
  return m;
}

}  // namespace caig::metrics
