// In-memory form of a dataset: creatives with counts, and pairs built by CAIG's rule.
// The same types serve ShopWorld directories and the real public formats.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig::data {

struct CreativeRecord {
  std::string creative_id;
  std::string product_id;
  std::string category;           // empty where the source has none
  std::string title;              // empty for text-free datasets (`public`)
  nlohmann::json attributes = nlohmann::json::object();
  std::string description;        // background description, empty where unknown
  nlohmann::json slots = nlohmann::json::object();  // parsed slots, empty where unknown
  int64_t impressions = 0;
  int64_t clicks = 0;
  std::optional<double> true_ctr;  // known only in simulated data
  std::optional<double> match;     // product-background match in [0, 1], simulated data only
  std::string image;               // path relative to the dataset root
  std::string product_image;       // RGBA cut-out relative to the root; empty where unknown
  std::string split;               // train / val / test; empty where unsplit
  uint64_t render_seed = 0;        // simulated data only

  double observed_ctr() const {
    return impressions > 0 ? static_cast<double>(clicks) / static_cast<double>(impressions) : 0.0;
  }
  bool operator==(const CreativeRecord& o) const;
};

// label: 0 when the left creative has the higher observed CTR, 1 when the right one has.
struct PairRecord {
  std::string product_id;
  std::string left;   // creative_id
  std::string right;  // creative_id
  int label = 0;
  bool operator==(const PairRecord& o) const {
    return product_id == o.product_id && left == o.left && right == o.right && label == o.label;
  }
};

// A record that could not be used, kept so that nothing is dropped silently.
struct SkippedRecord {
  std::string file;
  int64_t line = 0;  // 1-based; 0 where the record has no line
  std::string reason;
};

struct LoadReport {
  std::vector<SkippedRecord> skipped;  // only filled under lenient loading
};

struct Dataset {
  std::string format;                  // "shopworld", "creative_ranking", "cg4ctr_json"
  std::filesystem::path root;          // images resolve inside it
  bool has_text = true;                // false for `public` / CreativeRanking
  std::vector<CreativeRecord> creatives;
  std::vector<PairRecord> pairs;
  nlohmann::json world;                // ShopWorld parameters; null for real data
  LoadReport report;
};

nlohmann::json to_json(const CreativeRecord& r);
// `where` names file and line for error messages ("data/manifest.jsonl:12").
CreativeRecord creative_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::json to_json(const PairRecord& p);
PairRecord pair_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace caig::data
