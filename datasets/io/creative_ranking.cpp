#include "datasets/io/creative_ranking.h"

#include <charconv>
#include <fstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig::data {

namespace {

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    out.push_back(trim(line.substr(start, tab == std::string_view::npos ? tab : tab - start)));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

int64_t parse_count(std::string_view s, const char* column, const std::string& where) {
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) fail("{}: {} '{}' is too large", where, column, s);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
    fail("{}: {} '{}' is not an integer", where, column, s);
  if (v < 0) fail("{}: {} must not be negative, got {}", where, column, v);
  return v;
}

std::string reason_after(const std::string& msg, const std::string& where) {
  const std::string prefix = where + ": ";
  return msg.compare(0, prefix.size(), prefix) == 0 ? msg.substr(prefix.size()) : msg;
}

}  // namespace

Dataset load_creative_ranking(const fs::path& tsv_path, const fs::path& images_dir,
                              const LoadOptions& opt) {
  const std::string file = tsv_path.string();
  std::ifstream in(tsv_path, std::ios::binary);
  if (!in)
    fail("cannot read {}: {}", file,
         fs::exists(tsv_path) ? "permission or I/O error" : "no such file");
  if (opt.check_images && !fs::is_directory(images_dir))
    fail("{}: images directory {} not found", file, images_dir.string());

  Dataset d;
  d.format = kCreativeRankingFormat;
  d.root = images_dir;
  d.has_text = false;

  std::unordered_map<std::string, size_t> index;  // item \0 image -> creative
  std::unordered_map<std::string, std::pair<std::string, int64_t>> image_owner;  // -> item, line
  std::unordered_map<std::string, int64_t> day_line;      // item \0 image \0 ds -> line
  std::unordered_map<std::string, int64_t> bad_creative;  // item \0 image -> line (lenient)
  std::string raw;
  int64_t n = 0;
  bool seen_data = false;
  while (std::getline(in, raw)) {
    ++n;
    if (trim(raw).empty()) continue;
    // Only the line ending is stripped here: a leading tab is an empty item_id, not padding.
    std::string_view line = raw;
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (!seen_data) {
      seen_data = true;
      if (line.substr(0, 7) == "item_id") continue;  // header
    }
    const std::string where = fmt::format("{}:{}", file, n);
    try {
      const auto f = split_tabs(line);
      if (f.size() != 5)
        fail("{}: expected 5 tab-separated columns (item_id, image_name, ds, pv, clk), got {}",
             where, f.size());
      const std::string item(f[0]), image(f[1]), ds(f[2]);
      if (item.empty()) fail("{}: empty item_id", where);
      if (image.empty()) fail("{}: empty image_name", where);
      if (ds.empty()) fail("{}: empty ds", where);
      const int64_t pv = parse_count(f[3], "pv", where);
      const int64_t clk = parse_count(f[4], "clk", where);
      if (clk > pv) fail("{}: clk ({}) exceeds pv ({})", where, clk, pv);
      const std::string key = item + '\0' + image;
      if (auto b = bad_creative.find(key); b != bad_creative.end())
        fail("{}: creative '{}' of item '{}' was skipped at line {}", where, image, item,
             b->second);
      const std::string day = key + '\0' + ds;
      if (auto it = day_line.find(day); it != day_line.end())
        fail("{}: duplicate row for item '{}' image '{}' day '{}' (first at line {})", where, item,
             image, ds, it->second);

      if (auto it = index.find(key); it != index.end()) {
        CreativeRecord& r = d.creatives[it->second];
        int64_t imps = 0, clicks = 0;
        if (__builtin_add_overflow(r.impressions, pv, &imps) ||
            __builtin_add_overflow(r.clicks, clk, &clicks))
          fail("{}: summed counts of image '{}' overflow", where, image);
        if (clicks > imps)  // cannot happen after the per-row check; kept as a guard
          fail("{}: summed clk ({}) exceeds summed pv ({}) for image '{}'", where, clicks, imps,
               image);
        r.impressions = imps;
        r.clicks = clicks;
      } else {
        // image_name is the creative id, so one image under two items would be ambiguous.
        if (auto o = image_owner.find(image); o != image_owner.end())
          fail("{}: image_name '{}' already belongs to item '{}' (line {})", where, image,
               o->second.first, o->second.second);
        try {
          const fs::path p = resolve_inside(images_dir, image, where + ": image_name");
          if (opt.check_images && !fs::is_regular_file(p))
            fail("{}: image '{}' not found ({})", where, image, p.string());
        } catch (const Error&) {
          bad_creative.emplace(key, n);  // later days of this creative are skipped too
          throw;
        }
        CreativeRecord r;
        r.creative_id = image;
        r.product_id = item;
        r.image = image;
        r.impressions = pv;
        r.clicks = clk;
        image_owner.emplace(image, std::make_pair(item, n));
        index.emplace(key, d.creatives.size());
        d.creatives.push_back(std::move(r));
      }
      day_line.emplace(day, n);
    } catch (const Error& e) {
      if (!opt.lenient) throw;
      d.report.skipped.push_back({file, n, reason_after(e.what(), where)});
    }
  }
  if (in.bad()) fail("{}: read error after line {}", file, n);
  if (d.creatives.empty()) fail("{}: no usable rows ({} skipped)", file, d.report.skipped.size());
  d.pairs = build_pairs(d.creatives, opt.rule, opt.seed);
  return d;
}

}  // namespace caig::data
