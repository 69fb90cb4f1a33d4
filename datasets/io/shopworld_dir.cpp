#include "datasets/io/shopworld_dir.h"

#include <unistd.h>

#include <atomic>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig::data {

using nlohmann::json;

namespace {

std::atomic<int> g_dir_counter{0};

fs::path sibling(const fs::path& dir, const char* tag) {
  return dir.parent_path() /
         fmt::format("{}.{}-{}-{}", dir.filename().string(), tag, ::getpid(), g_dir_counter++);
}

// "a/b/manifest.jsonl:12: clicks ..." -> "clicks ...": a skip already records file and line.
std::string reason_after(const std::string& msg, const std::string& where) {
  const std::string prefix = where + ": ";
  return msg.compare(0, prefix.size(), prefix) == 0 ? msg.substr(prefix.size()) : msg;
}

bool left_wins(const CreativeRecord& l, const CreativeRecord& r, bool* tie) {
  // Cross-products in long double are exact for counts up to 2^32 each, far beyond real logs.
  const long double lv = static_cast<long double>(l.clicks) * r.impressions;
  const long double rv = static_cast<long double>(r.clicks) * l.impressions;
  *tie = lv == rv;
  return lv > rv;
}

std::optional<int64_t> optional_count(const json& meta, const char* key, const std::string& where) {
  auto it = meta.find(key);
  if (it == meta.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    fail("{}: '{}' must be a non-negative integer, got {}", where, key, it->dump());
  return it->get<int64_t>();
}

}  // namespace

DatasetDirWriter::DatasetDirWriter(fs::path dir, bool overwrite) : overwrite_(overwrite) {
  if (dir.empty()) fail("dataset directory: empty path");
  dir_ = fs::absolute(dir).lexically_normal();
  if (dir_.filename().empty()) dir_ = dir_.parent_path();  // "out/" -> "out"
  if (fs::exists(dir_)) {
    if (!fs::is_directory(dir_)) fail("{}: exists and is not a directory", dir_.string());
    if (!fs::is_empty(dir_) && !overwrite_)
      fail("{}: already exists and is not empty (pass overwrite to replace it)", dir_.string());
  }
  fs::create_directories(dir_.parent_path());
  staging_ = sibling(dir_, "tmp");
  fs::remove_all(staging_);
  fs::create_directories(staging_);
}

DatasetDirWriter::~DatasetDirWriter() {
  if (committed_) return;
  std::error_code ec;  // a destructor must not throw; a leftover staging dir is harmless
  fs::remove_all(staging_, ec);
}

void DatasetDirWriter::commit(const Dataset& d) {
  if (committed_) fail("{}: dataset directory already committed", dir_.string());
  // Round-trip every record through its validator so that what we write is what we can load.
  std::vector<json> manifest;
  manifest.reserve(d.creatives.size());
  std::unordered_set<std::string> ids;
  std::unordered_set<std::string> products;
  for (size_t i = 0; i < d.creatives.size(); ++i) {
    const std::string where = fmt::format("{}: creative #{}", dir_.string(), i);
    manifest.push_back(to_json(d.creatives[i]));
    creative_from_json(manifest.back(), where);
    if (!ids.insert(d.creatives[i].creative_id).second)
      fail("{}: duplicate creative_id '{}'", where, d.creatives[i].creative_id);
    products.insert(d.creatives[i].product_id);
  }
  std::vector<json> pairs;
  pairs.reserve(d.pairs.size());
  for (size_t i = 0; i < d.pairs.size(); ++i) {
    pairs.push_back(to_json(d.pairs[i]));
    pair_from_json(pairs.back(), fmt::format("{}: pair #{}", dir_.string(), i));
  }
  json meta = json::object();
  meta["format"] = kShopWorldFormat;
  meta["version"] = kShopWorldVersion;
  meta["source_format"] = d.format;
  meta["has_text"] = d.has_text;
  meta["products"] = products.size();
  meta["creatives"] = d.creatives.size();
  meta["pairs"] = d.pairs.size();
  write_jsonl_atomic(staging_ / "manifest.jsonl", manifest);
  write_jsonl_atomic(staging_ / "pairs.jsonl", pairs);
  write_json_atomic(staging_ / "world.json", d.world);
  write_json_atomic(staging_ / "dataset.json", meta);

  std::error_code ec;
  if (fs::exists(dir_) && fs::is_directory(dir_) && fs::is_empty(dir_)) fs::remove(dir_);
  if (!fs::exists(dir_)) {
    fs::rename(staging_, dir_, ec);
    if (ec) fail("cannot move {} to {}: {}", staging_.string(), dir_.string(), ec.message());
  } else {
    if (!overwrite_)
      fail("{}: appeared while writing and is not empty (pass overwrite to replace it)",
           dir_.string());
    // Two renames leave a short window with no directory, but never a partial one.
    const fs::path old = sibling(dir_, "old");
    fs::rename(dir_, old, ec);
    if (ec) fail("cannot move old {} aside: {}", dir_.string(), ec.message());
    fs::rename(staging_, dir_, ec);
    if (ec) {
      std::error_code ignored;
      fs::rename(old, dir_, ignored);
      fail("cannot move {} to {}: {}", staging_.string(), dir_.string(), ec.message());
    }
    fs::remove_all(old, ec);
    if (ec)
      fail("replaced {} but cannot remove the old copy {}: {}", dir_.string(), old.string(),
           ec.message());
  }
  committed_ = true;
}

void write_dataset_dir(const Dataset& d, const fs::path& dir, bool overwrite) {
  DatasetDirWriter w(dir, overwrite);
  w.commit(d);
}

Dataset load_dataset_dir(const fs::path& dir, const LoadOptions& opt) {
  if (!fs::is_directory(dir)) fail("{}: not a dataset directory (no such directory)", dir.string());
  const fs::path manifest_path = dir / "manifest.jsonl";
  const fs::path pairs_path = dir / "pairs.jsonl";
  const fs::path meta_path = dir / "dataset.json";
  const fs::path world_path = dir / "world.json";
  const std::string mfile = manifest_path.string();
  const std::string pfile = pairs_path.string();
  if (!fs::exists(manifest_path)) fail("{}: missing (not a ShopWorld dataset directory)", mfile);

  Dataset d;
  d.format = kShopWorldFormat;
  d.root = dir;
  auto skip = [&](const std::string& file, int64_t line, const std::string& reason) {
    d.report.skipped.push_back({file, line, reason});
  };

  std::optional<bool> has_text;
  std::optional<int64_t> want_creatives, want_pairs;
  if (fs::exists(meta_path)) {
    const std::string where = meta_path.string();
    const json meta = read_json(meta_path);
    if (!meta.is_object()) fail("{}: expected a JSON object", where);
    const json format = meta.value("format", json());
    if (format != kShopWorldFormat)
      fail("{}: format {} is not \"{}\"", where, format.dump(), kShopWorldFormat);
    const json version = meta.value("version", json());
    if (!version.is_number_integer() || version.get<int64_t>() != kShopWorldVersion)
      fail("{}: unsupported version {} (this build reads version {})", where, version.dump(),
           kShopWorldVersion);
    if (auto it = meta.find("has_text"); it != meta.end()) {
      if (!it->is_boolean()) fail("{}: 'has_text' must be true or false", where);
      has_text = it->get<bool>();
    }
    want_creatives = optional_count(meta, "creatives", where);
    want_pairs = optional_count(meta, "pairs", where);
  }
  if (fs::exists(world_path)) d.world = read_json(world_path);

  // Categories are checked only where world.json lists them.
  std::optional<std::unordered_set<std::string>> categories;
  if (d.world.is_object() && d.world.contains("categories")) {
    const json& cats = d.world["categories"];
    if (!cats.is_array()) fail("{}: 'categories' must be an array", world_path.string());
    categories.emplace();
    for (size_t i = 0; i < cats.size(); ++i) {
      if (!cats[i].is_object() || !cats[i].contains("name") || !cats[i]["name"].is_string())
        fail("{}: categories[{}] has no string 'name'", world_path.string(), i);
      categories->insert(cats[i]["name"].get<std::string>());
    }
  }

  std::unordered_map<std::string, size_t> index;         // creative_id -> position
  std::unordered_map<std::string, int64_t> first_line;   // creative_id -> manifest line
  std::unordered_map<std::string, int64_t> skipped_ids;  // skipped creative_id -> line
  int64_t manifest_rows = 0;
  auto check_image = [&](const std::string& rel, const char* field, const std::string& where) {
    const fs::path p = resolve_inside(dir, rel, fmt::format("{}: {}", where, field));
    if (opt.check_images && !fs::is_regular_file(p))
      fail("{}: {} '{}' not found ({})", where, field, rel, p.string());
  };
  read_jsonl(
      manifest_path,
      [&](const json& j, int64_t line) {
        ++manifest_rows;
        const std::string where = fmt::format("{}:{}", mfile, line);
        try {
          CreativeRecord r = creative_from_json(j, where);
          if (auto it = first_line.find(r.creative_id); it != first_line.end())
            fail("{}: duplicate creative_id '{}' (first at line {})", where, r.creative_id,
                 it->second);
          if (categories && !categories->count(r.category))
            fail("{}: unknown category '{}' (not listed in world.json)", where, r.category);
          check_image(r.image, "image", where);
          if (!r.product_image.empty()) check_image(r.product_image, "product_image", where);
          first_line.emplace(r.creative_id, line);
          index.emplace(r.creative_id, d.creatives.size());
          d.creatives.push_back(std::move(r));
        } catch (const Error& e) {
          if (!opt.lenient) throw;
          skip(mfile, line, reason_after(e.what(), where));
          if (j.is_object() && j.contains("creative_id") && j["creative_id"].is_string())
            skipped_ids.emplace(j["creative_id"].get<std::string>(), line);
        }
      },
      opt.lenient ? std::function<void(int64_t, const std::string&)>(
                        [&](int64_t line, const std::string& msg) {
                          ++manifest_rows;
                          skip(mfile, line, msg);
                        })
                  : nullptr);

  auto count_mismatch = [&](const std::string& what, int64_t want, int64_t got) {
    const std::string msg = fmt::format("dataset.json says {} {} but {} holds {} (truncated?)",
                                        want, what, what == "creatives" ? mfile : pfile, got);
    if (!opt.lenient) fail("{}: {}", meta_path.string(), msg);
    skip(meta_path.string(), 0, msg);
  };
  if (want_creatives && *want_creatives != manifest_rows)
    count_mismatch("creatives", *want_creatives, manifest_rows);

  if (opt.rebuild_pairs) {
    d.pairs = build_pairs(d.creatives, opt.rule, opt.seed);
  } else {
    if (!fs::exists(pairs_path))
      fail("{}: missing (rebuild pairs from the manifest with the pair rule instead)", pfile);
    std::unordered_map<std::string, int64_t> seen_pairs;  // unordered creative pair -> line
    int64_t pair_rows = 0;
    auto creative = [&](const std::string& id, const std::string& where) -> const CreativeRecord& {
      auto it = index.find(id);
      if (it != index.end()) return d.creatives[it->second];
      if (auto s = skipped_ids.find(id); s != skipped_ids.end())
        fail("{}: creative '{}' was skipped ({}:{})", where, id, mfile, s->second);
      fail("{}: unknown creative '{}'", where, id);
    };
    read_jsonl(
        pairs_path,
        [&](const json& j, int64_t line) {
          ++pair_rows;
          const std::string where = fmt::format("{}:{}", pfile, line);
          try {
            PairRecord p = pair_from_json(j, where);
            const CreativeRecord& l = creative(p.left, where);
            const CreativeRecord& r = creative(p.right, where);
            if (l.product_id != r.product_id)
              fail(
                  "{}: creatives '{}' (product '{}') and '{}' (product '{}') belong to different "
                  "products",
                  where, l.creative_id, l.product_id, r.creative_id, r.product_id);
            if (p.product_id != l.product_id)
              fail("{}: product_id '{}' but its creatives belong to product '{}'", where,
                   p.product_id, l.product_id);
            bool tie = false;
            const bool lw = left_wins(l, r, &tie);
            if (tie) fail("{}: observed CTRs tie, so the pair has no winner", where);
            if (lw != (p.label == 0))
              fail("{}: label {} contradicts observed CTRs (left {}/{}, right {}/{})", where,
                   p.label, l.clicks, l.impressions, r.clicks, r.impressions);
            const std::string key =
                p.left < p.right ? p.left + '\0' + p.right : p.right + '\0' + p.left;
            if (auto [it, fresh] = seen_pairs.emplace(key, line); !fresh)
              fail("{}: duplicate pair ('{}', '{}'), first at line {}", where, p.left, p.right,
                   it->second);
            d.pairs.push_back(std::move(p));
          } catch (const Error& e) {
            if (!opt.lenient) throw;
            skip(pfile, line, reason_after(e.what(), where));
          }
        },
        opt.lenient ? std::function<void(int64_t, const std::string&)>(
                          [&](int64_t line, const std::string& msg) {
                            ++pair_rows;
                            skip(pfile, line, msg);
                          })
                    : nullptr);
    if (want_pairs && *want_pairs != pair_rows) count_mismatch("pairs", *want_pairs, pair_rows);
  }

  if (d.creatives.empty())
    fail("{}: no usable creatives ({} skipped)", mfile, d.report.skipped.size());
  if (has_text) {
    d.has_text = *has_text;
  } else {  // hand-made directory without dataset.json
    d.has_text = false;
    for (const auto& c : d.creatives) d.has_text = d.has_text || !c.title.empty();
  }
  return d;
}

}  // namespace caig::data
