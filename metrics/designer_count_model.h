// A reference for how well the designers' backgrounds can be imitated from a finite log, next to
// which the pretrained prompt model's match rate is read (issue 3: "match rate near rho").
//
// Per category, add-alpha counts of the designers' scene and, independently, of their style (the
// two slots the judge's match depends on). Alpha is chosen from a grid by leave-one-out
// log-likelihood on the fitting split, the criterion a model trained by cross-entropy also
// optimises. With about 200 descriptions per category the likelihood-best alpha is near 1, and
// that smoothing moves probability onto the many non-matching (scene, style) pairs: a model that
// predicts held-out descriptions best samples matched backgrounds less often than the designers.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"
#include "datasets/shopworld/vocabulary.h"

namespace caig::metrics {

struct DesignerCountModel {
  double alpha = 1.0;
  double loo_log_likelihood = 0;  // mean log p(scene) + log p(style) per description, at alpha
  int64_t descriptions = 0;       // fitted on
  std::map<int, std::array<double, world::kNumScenes>> scene_counts;  // by category index
  std::map<int, std::array<double, world::kNumStyles>> style_counts;

  double scene_probability(int category, int scene) const;
  double style_probability(int category, int style) const;
  // Probability that a (scene, style) drawn from the model for `category` has
  // world::match_score >= threshold (exact: a sum over every pair). A category without fitted
  // descriptions draws uniformly.
  double match_probability(int category, double threshold) const;
  nlohmann::json to_json() const;  // alpha, loo_log_likelihood, descriptions
};

inline const std::vector<double> kDefaultCountAlphas = {0.01, 0.03, 0.1, 0.3, 0.5, 1, 2, 4};

// Fits on the creatives of `split`. Every one must have a known category and a description whose
// scene and style parse; otherwise an Error names the creative. No creatives, or an alpha <= 0:
// Error.
DesignerCountModel fit_designer_count_model(
    const data::Dataset& d, const std::string& split,
    const std::vector<double>& alphas = kDefaultCountAlphas);

}  // namespace caig::metrics
