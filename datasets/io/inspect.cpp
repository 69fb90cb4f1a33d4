#include "datasets/io/inspect.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "datasets/io/cg4ctr_json.h"
#include "datasets/io/creative_ranking.h"
#include "harness/error.h"

namespace fs = std::filesystem;

namespace caig::data {

using nlohmann::json;

namespace {

constexpr size_t kSkippedShown = 20;

// min / median / max of a non-empty list; the median of an even count is the mean of the middle
// two.
json spread(std::vector<int64_t> v) {
  if (v.empty()) return nullptr;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  const double median = v.size() % 2
                            ? static_cast<double>(v[m])
                            : (static_cast<double>(v[m - 1]) + static_cast<double>(v[m])) / 2;
  return json{{"min", v.front()}, {"median", median}, {"max", v.back()}};
}

std::string num(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.dump();
}

std::string field(const json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].is_object() || !j[a].contains(b)) return "-";
  return num(j[a][b]);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

json inspect_dataset(const Dataset& d, const PairRule& rule) {
  std::vector<std::string> product_order;
  std::unordered_map<std::string, int64_t> per_product;
  std::unordered_set<std::string> categories;
  std::map<std::string, int64_t> splits;
  std::vector<int64_t> impressions;
  int64_t total_impressions = 0, total_clicks = 0, with_true_ctr = 0;
  double ctr_sum = 0;
  for (const auto& c : d.creatives) {
    if (per_product[c.product_id]++ == 0) product_order.push_back(c.product_id);
    if (!c.category.empty()) categories.insert(c.category);
    if (!c.split.empty()) ++splits[c.split];
    impressions.push_back(c.impressions);
    total_impressions += c.impressions;
    total_clicks += c.clicks;
    ctr_sum += c.observed_ctr();
    with_true_ctr += c.true_ctr.has_value();
  }
  std::vector<int64_t> sizes;
  for (const auto& p : product_order) sizes.push_back(per_product[p]);

  json j = json::object();
  j["format"] = d.format;
  j["root"] = d.root.string();
  j["has_text"] = d.has_text;
  j["products"] = product_order.size();
  j["creatives"] = d.creatives.size();
  j["creatives_per_product"] = spread(sizes);
  json imps = spread(impressions);
  if (imps.is_null()) imps = json::object();
  imps["total"] = total_impressions;
  j["impressions"] = imps;
  j["clicks"] = json{{"total", total_clicks}};
  j["mean_observed_ctr"] =
      d.creatives.empty() ? json(nullptr) : json(ctr_sum / static_cast<double>(d.creatives.size()));
  j["pooled_ctr"] =
      total_impressions > 0
          ? json(static_cast<double>(total_clicks) / static_cast<double>(total_impressions))
          : json(nullptr);
  j["creatives_with_true_ctr"] = with_true_ctr;
  j["categories"] = categories.empty() ? json(nullptr) : json(categories.size());
  j["splits"] = splits.empty() ? json(nullptr) : json(splits);
  j["pairs"] = json{{"stored", d.pairs.size()},
                    {"under_rule", build_pairs(d.creatives, rule, 0).size()},
                    {"rule", rule.to_json()}};
  json shown = json::array();
  for (size_t i = 0; i < d.report.skipped.size() && i < kSkippedShown; ++i) {
    const auto& s = d.report.skipped[i];
    shown.push_back(s.line > 0 ? fmt::format("{}:{}: {}", s.file, s.line, s.reason)
                               : fmt::format("{}: {}", s.file, s.reason));
  }
  j["skipped"] = json{{"count", d.report.skipped.size()}, {"first", shown}};
  return j;
}

std::string format_inspect(const json& j) {
  auto get = [&](const char* key) { return j.contains(key) ? num(j[key]) : std::string("-"); };
  auto text = [&](const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string("-");
  };
  std::string out;
  auto row = [&](const char* name, const std::string& value) {
    out += fmt::format("{:<18}{}\n", name, value);
  };
  const bool has_text = j.value("has_text", false);
  row("format", fmt::format("{} ({})", text("format"), has_text ? "with text" : "no text"));
  row("root", text("root"));
  row("products", get("products"));
  row("creatives", fmt::format("{} (per product: min {}, median {}, max {})", get("creatives"),
                               field(j, "creatives_per_product", "min"),
                               field(j, "creatives_per_product", "median"),
                               field(j, "creatives_per_product", "max")));
  row("impressions",
      fmt::format("total {}, min {}, median {}, max {}", field(j, "impressions", "total"),
                  field(j, "impressions", "min"), field(j, "impressions", "median"),
                  field(j, "impressions", "max")));
  row("clicks", fmt::format("total {}", field(j, "clicks", "total")));
  row("observed CTR",
      fmt::format("mean {}, pooled {}", get("mean_observed_ctr"), get("pooled_ctr")));
  if (j.contains("creatives_with_true_ctr") && j["creatives_with_true_ctr"] != 0)
    row("true CTR known", get("creatives_with_true_ctr"));
  if (j.contains("categories") && !j["categories"].is_null()) row("categories", get("categories"));
  if (j.contains("splits") && j["splits"].is_object()) {
    std::string s;
    for (const auto& [name, n] : j["splits"].items())
      s += fmt::format("{}{} {}", s.empty() ? "" : ", ", name, num(n));
    row("splits", s);
  }
  std::string rule = "-";
  if (j.contains("pairs") && j["pairs"].contains("rule") && j["pairs"]["rule"].is_object()) {
    const json& r = j["pairs"]["rule"];
    rule = fmt::format("impressions > {}, CTR ratio in [{}, {}]{}",
                       num(r.value("min_impressions", json())), num(r.value("min_ratio", json())),
                       num(r.value("max_ratio", json())),
                       r.value("require_positive_ctr", false) ? ", clicks > 0" : "");
  }
  row("pairs", fmt::format("{} stored; {} under the rule ({})", field(j, "pairs", "stored"),
                           field(j, "pairs", "under_rule"), rule));
  row("skipped", field(j, "skipped", "count"));
  if (j.contains("skipped") && j["skipped"].contains("first")) {
    for (const auto& s : j["skipped"]["first"])
      out += "  " + (s.is_string() ? s.get<std::string>() : s.dump()) + "\n";
    const json count = j["skipped"].value("count", json(0));
    if (count.is_number_integer() && count.get<size_t>() > j["skipped"]["first"].size())
      out += fmt::format("  ... and {} more\n", count.get<size_t>() - j["skipped"]["first"].size());
  }
  return out;
}

DatasetLocation locate_dataset(const fs::path& path, const fs::path& images_dir) {
  static const char* const kSupported =
      "supported: a ShopWorld directory with manifest.jsonl, a CreativeRanking .tsv/.txt file, "
      "a CG4CTR/CAIG .json file";
  if (!fs::exists(path)) fail("{}: no such file or directory ({})", path.string(), kSupported);
  if (fs::is_directory(path)) {
    if (!fs::exists(path / "manifest.jsonl"))
      fail("{}: directory has no manifest.jsonl ({})", path.string(), kSupported);
    return {"shopworld_dir", path, {}};
  }
  if (path.filename() == "manifest.jsonl")
    return {"shopworld_dir", path.has_parent_path() ? path.parent_path() : fs::path("."), {}};
  const std::string ext = lower(path.extension().string());
  const fs::path images = images_dir.empty() ? path.parent_path() / "images" : images_dir;
  if (ext == ".tsv" || ext == ".txt") return {"creative_ranking", path, images};
  if (ext == ".json") return {"cg4ctr_json", path, images};
  fail("{}: unknown dataset format ({})", path.string(), kSupported);
}

Dataset load_any_dataset(const fs::path& path, const fs::path& images_dir, const LoadOptions& opt) {
  const auto where = locate_dataset(path, images_dir);
  if (where.source == "shopworld_dir") return load_dataset_dir(where.path, opt);
  if (where.source == "creative_ranking")
    return load_creative_ranking(where.path, where.images, opt);
  return load_cg4ctr_json(where.path, where.images, opt);
}

}  // namespace caig::data
