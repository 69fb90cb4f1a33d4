#include "datasets/shopworld/world_config.h"

#include "datasets/shopworld/catalog.h"
#include "harness/error.h"

namespace caig::world {

nlohmann::json WorldConfig::to_json() const {
  return {{"products", products},
          {"creatives_min", creatives_min},
          {"creatives_max", creatives_max},
          {"image_size", image_size},
          {"rho", rho},
          {"impressions_median", impressions_median},
          {"impressions_log_sd", impressions_log_sd},
          {"traffic_exponent", traffic_exponent},
          {"designer_habit_sd", designer_habit_sd},
          {"quality_scale", quality_scale},
          {"attention_scale", attention_scale},
          {"preference_sd", preference_sd},
          {"text_scale", text_scale},
          {"visibility_scale", visibility_scale},
          {"visibility_reference", visibility_reference},
          {"visibility_cap", visibility_cap},
          {"mismatch_penalty", mismatch_penalty},
          {"noise_sd", noise_sd},
          {"match_threshold", match_threshold},
          {"dataset", dataset},
          {"train_fraction", train_fraction},
          {"val_fraction", val_fraction},
          {"held_out_categories", held_out_categories},
          {"pairs", pairs.to_json()}};
}

WorldConfig WorldConfig::from_json(const nlohmann::json& j) {
  WorldConfig c;
  try {
    c.products = j.at("products").get<int>();
    c.creatives_min = j.at("creatives_min").get<int>();
    c.creatives_max = j.at("creatives_max").get<int>();
    c.image_size = j.at("image_size").get<int>();
    c.rho = j.at("rho").get<double>();
    c.impressions_median = j.at("impressions_median").get<double>();
    c.impressions_log_sd = j.at("impressions_log_sd").get<double>();
    c.traffic_exponent = j.at("traffic_exponent").get<double>();
    c.designer_habit_sd = j.at("designer_habit_sd").get<double>();
    c.quality_scale = j.at("quality_scale").get<double>();
    c.attention_scale = j.at("attention_scale").get<double>();
    c.preference_sd = j.at("preference_sd").get<double>();
    c.text_scale = j.at("text_scale").get<double>();
    c.visibility_scale = j.at("visibility_scale").get<double>();
    c.visibility_reference = j.at("visibility_reference").get<double>();
    c.visibility_cap = j.at("visibility_cap").get<double>();
    c.mismatch_penalty = j.at("mismatch_penalty").get<double>();
    c.noise_sd = j.at("noise_sd").get<double>();
    c.match_threshold = j.at("match_threshold").get<double>();
    c.dataset = j.at("dataset").get<std::string>();
    c.train_fraction = j.at("train_fraction").get<double>();
    c.val_fraction = j.at("val_fraction").get<double>();
    c.held_out_categories = j.at("held_out_categories").get<std::vector<std::string>>();
    c.pairs = data::PairRule::from_json(j.at("pairs"));
  } catch (const nlohmann::json::exception& e) {
    fail("world config: {}", e.what());
  }
  c.validate();
  return c;
}

void WorldConfig::validate() const {
  auto check = [](bool ok, const char* key, const std::string& why) {
    if (!ok) fail("world.{}: {}", key, why);
  };
  check(products > 0, "products", "must be > 0");
  check(creatives_min >= 2, "creatives_min", "must be >= 2 (pairs need two creatives)");
  check(creatives_max >= creatives_min, "creatives_max", "must be >= creatives_min");
  check(image_size >= 32 && image_size <= 1024, "image_size", "must be in [32, 1024]");
  check(rho >= 0 && rho <= 1, "rho", "must be in [0, 1]");
  check(impressions_median >= 1, "impressions_median", "must be >= 1");
  check(impressions_log_sd >= 0, "impressions_log_sd", "must be >= 0");
  check(designer_habit_sd >= 0, "designer_habit_sd", "must be >= 0");
  check(preference_sd >= 0, "preference_sd", "must be >= 0");
  check(noise_sd >= 0, "noise_sd", "must be >= 0");
  check(mismatch_penalty >= 0, "mismatch_penalty", "must be >= 0");
  check(visibility_cap >= 0, "visibility_cap", "must be >= 0");
  check(match_threshold > 0 && match_threshold < 1, "match_threshold", "must be in (0, 1)");
  check(dataset == "commercial" || dataset == "public", "dataset",
        "must be \"commercial\" or \"public\", got \"" + dataset + "\"");
  check(train_fraction > 0 && val_fraction >= 0 && train_fraction + val_fraction < 1,
        "train_fraction", "train_fraction > 0, val_fraction >= 0 and their sum < 1 (rest is test)");
  for (const auto& name : held_out_categories)
    check(category_index(name) >= 0, "held_out_categories", "unknown category \"" + name + "\"");
}

}  // namespace caig::world
