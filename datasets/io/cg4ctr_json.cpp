#include "datasets/io/cg4ctr_json.h"

#include <cmath>
#include <limits>
#include <unordered_map>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig::data {

namespace {

using ojson = nlohmann::ordered_json;

// Python dumps from pandas sometimes write counts as 3000.0; an integral float is accepted,
// a fractional one is an error.
int64_t count_field(const ojson& c, const char* key, const std::string& where) {
  auto it = c.find(key);
  if (it == c.end()) fail("{}: missing '{}'", where, key);
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() &&
        it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail("{}: {} is too large", where, key);
    const int64_t v = it->get<int64_t>();
    if (v < 0) fail("{}: {} must not be negative, got {}", where, key, v);
    return v;
  }
  if (it->is_number_float()) {
    const double x = it->get<double>();
    if (x < 0) fail("{}: {} must not be negative, got {}", where, key, x);
    if (std::floor(x) != x || x >= 9.2e18) fail("{}: {} ({}) is not an integer", where, key, x);
    return static_cast<int64_t>(x);
  }
  fail("{}: {} must be an integer, got {}", where, key, it->dump());
}

std::string id_field(const ojson& c, const std::string& where) {
  auto it = c.find("creative_id");
  if (it == c.end()) fail("{}: missing 'creative_id'", where);
  if (it->is_number_integer()) return it->dump();  // 123 -> "123"
  if (it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
  fail("{}: creative_id must be an integer or a non-empty string, got {}", where, it->dump());
}

std::string reason_after(const std::string& msg, const std::string& file) {
  const std::string prefix = file + ": ";
  return msg.compare(0, prefix.size(), prefix) == 0 ? msg.substr(prefix.size()) : msg;
}

}  // namespace

Dataset load_cg4ctr_json(const fs::path& json_path, const fs::path& images_dir,
                         const LoadOptions& opt) {
  const std::string file = json_path.string();
  ojson root;
  {
    const std::string text = read_file(json_path);
    try {
      root = ojson::parse(text);
    } catch (const ojson::parse_error& e) {
      fail("{}: malformed JSON at byte {}: {}", file, e.byte, e.what());
    }
  }
  if (!root.is_object())
    fail("{}: expected an object mapping item_id to a list of creatives, got {}", file,
         root.type_name());
  if (opt.check_images && !fs::is_directory(images_dir))
    fail("{}: images directory {} not found", file, images_dir.string());

  Dataset d;
  d.format = kCg4ctrFormat;
  d.root = images_dir;
  d.has_text = false;
  auto skip = [&](const std::string& msg) {
    if (!opt.lenient) throw Error(msg);
    d.report.skipped.push_back({file, 0, reason_after(msg, file)});
  };

  static const char* const kExtensions[] = {"", ".jpg", ".jpeg", ".png", ".webp"};
  std::unordered_map<std::string, std::string> first_seen;  // creative_id -> "item "x" creative #k"
  for (const auto& [item, list] : root.items()) {
    const std::string item_where = fmt::format("{}: item \"{}\"", file, item);
    if (item.empty()) {
      skip(fmt::format("{}: empty item_id", item_where));
      continue;
    }
    if (!list.is_array()) {
      skip(fmt::format("{}: expected a list of creatives, got {}", item_where, list.type_name()));
      continue;
    }
    for (size_t k = 0; k < list.size(); ++k) {
      const std::string where = fmt::format("{} creative #{}", item_where, k + 1);  // 1-based
      try {
        const ojson& c = list[k];
        if (!c.is_object()) fail("{}: expected an object, got {}", where, c.type_name());
        CreativeRecord r;
        r.creative_id = id_field(c, where);
        r.product_id = item;
        auto h = c.find("creative_image_hash");
        if (h == c.end()) fail("{}: missing 'creative_image_hash'", where);
        if (!h->is_string() || h->get<std::string>().empty())
          fail("{}: creative_image_hash must be a non-empty string, got {}", where, h->dump());
        const std::string hash = h->get<std::string>();
        r.impressions = count_field(c, "exp_impression_cnt", where);
        r.clicks = count_field(c, "exp_click_cnt", where);
        if (r.clicks > r.impressions)
          fail("{}: exp_click_cnt ({}) exceeds exp_impression_cnt ({})", where, r.clicks,
               r.impressions);
        if (auto it = first_seen.find(r.creative_id); it != first_seen.end())
          fail("{}: duplicate creative_id '{}' (first at {})", where, r.creative_id, it->second);
        // resolve_inside first for the bare hash, so that "../x" is an error, not a lookup miss.
        resolve_inside(images_dir, hash, where + ": creative_image_hash");
        for (const char* ext : kExtensions) {
          const fs::path p = resolve_inside(images_dir, hash + ext, where);
          if (fs::is_regular_file(p)) {
            r.image = hash + ext;
            break;
          }
        }
        if (r.image.empty()) {
          if (opt.check_images)
            fail(
                "{}: no image for creative_image_hash '{}' in {} (tried no extension, .jpg, "
                ".jpeg, .png, .webp)",
                where, hash, images_dir.string());
          r.image = hash;
        }
        first_seen.emplace(r.creative_id, fmt::format("item \"{}\" creative #{}", item, k + 1));
        d.creatives.push_back(std::move(r));
      } catch (const Error& e) {
        skip(e.what());
      }
    }
  }
  if (d.creatives.empty())
    fail("{}: no usable creatives ({} skipped)", file, d.report.skipped.size());
  d.pairs = build_pairs(d.creatives, opt.rule, opt.seed);
  return d;
}

}  // namespace caig::data
