#include "datasets/io/records.h"

#include <cmath>
#include <limits>

#include "harness/error.h"

namespace caig::data {

using nlohmann::json;

namespace {

const char* type_name(const json& v) { return v.type_name(); }

const json* find(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json& require(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v) fail("{}: missing required field '{}'", where, key);
  return *v;
}

std::string as_string(const json& v, const char* key, const std::string& where) {
  if (!v.is_string()) fail("{}: field '{}' must be a string, got {}", where, key, type_name(v));
  return v.get<std::string>();
}

std::string required_string(const json& j, const char* key, const std::string& where) {
  std::string s = as_string(require(j, key, where), key, where);
  if (s.empty()) fail("{}: field '{}' must not be empty", where, key);
  return s;
}

// Absent and null both mean "unknown" for optional text fields.
std::string optional_string(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v || v->is_null()) return {};
  return as_string(*v, key, where);
}

int64_t count_field(const json& j, const char* key, const std::string& where) {
  const json& v = require(j, key, where);
  // A float such as 12.0 is rejected too: counts in a manifest are written as integers.
  if (!v.is_number_integer())
    fail("{}: field '{}' must be an integer, got {}", where, key, type_name(v));
  if (v.is_number_unsigned() &&
      v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail("{}: field '{}' is too large", where, key);
  const int64_t n = v.get<int64_t>();
  if (n < 0) fail("{}: field '{}' must not be negative, got {}", where, key, n);
  return n;
}

json object_field(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v || v->is_null()) return json::object();
  if (!v->is_object()) fail("{}: field '{}' must be an object, got {}", where, key, type_name(*v));
  return *v;
}

std::optional<double> unit_interval(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_number())
    fail("{}: field '{}' must be a number or null, got {}", where, key, type_name(*v));
  const double x = v->get<double>();
  if (!(x >= 0.0 && x <= 1.0)) fail("{}: field '{}' must lie in [0, 1], got {}", where, key, x);
  return x;
}

json optional_number(const std::optional<double>& x) { return x ? json(*x) : json(nullptr); }

}  // namespace

bool CreativeRecord::operator==(const CreativeRecord& o) const {
  return creative_id == o.creative_id && product_id == o.product_id && category == o.category &&
         title == o.title && attributes == o.attributes && description == o.description &&
         slots == o.slots && impressions == o.impressions && clicks == o.clicks &&
         true_ctr == o.true_ctr && match == o.match && image == o.image &&
         product_image == o.product_image && split == o.split && render_seed == o.render_seed;
}

// Unknown values are written as null (not omitted) so every manifest line has the same columns,
// which keeps the file easy to read with pandas or jq.
json to_json(const CreativeRecord& r) {
  json j = json::object();
  j["creative_id"] = r.creative_id;
  j["product_id"] = r.product_id;
  j["category"] = r.category;
  j["title"] = r.title;
  j["attributes"] = r.attributes;
  j["description"] = r.description;
  j["slots"] = r.slots;
  j["impressions"] = r.impressions;
  j["clicks"] = r.clicks;
  j["true_ctr"] = optional_number(r.true_ctr);
  j["match"] = optional_number(r.match);
  j["image"] = r.image;
  j["product_image"] = r.product_image;
  j["split"] = r.split;
  j["render_seed"] = r.render_seed;
  return j;
}

// Keys not listed here are ignored, so that tools may annotate manifest lines.
CreativeRecord creative_from_json(const json& j, const std::string& where) {
  if (!j.is_object())
    fail("{}: a creative record must be a JSON object, got {}", where, type_name(j));
  CreativeRecord r;
  r.creative_id = required_string(j, "creative_id", where);
  r.product_id = required_string(j, "product_id", where);
  r.category = optional_string(j, "category", where);
  r.title = optional_string(j, "title", where);
  r.attributes = object_field(j, "attributes", where);
  r.description = optional_string(j, "description", where);
  r.slots = object_field(j, "slots", where);
  r.impressions = count_field(j, "impressions", where);
  r.clicks = count_field(j, "clicks", where);
  if (r.clicks > r.impressions)
    fail("{}: clicks ({}) exceed impressions ({}) for creative '{}'", where, r.clicks,
         r.impressions, r.creative_id);
  r.true_ctr = unit_interval(j, "true_ctr", where);
  r.match = unit_interval(j, "match", where);
  r.image = required_string(j, "image", where);
  r.product_image = optional_string(j, "product_image", where);
  r.split = optional_string(j, "split", where);
  if (const json* v = find(j, "render_seed"); v && !v->is_null()) {
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0))
      fail("{}: field 'render_seed' must be a non-negative integer, got {}", where, v->dump());
    r.render_seed = v->get<uint64_t>();
  }
  return r;
}

json to_json(const PairRecord& p) {
  return json{
      {"product_id", p.product_id}, {"left", p.left}, {"right", p.right}, {"label", p.label}};
}

PairRecord pair_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: a pair record must be a JSON object, got {}", where, type_name(j));
  PairRecord p;
  p.product_id = required_string(j, "product_id", where);
  p.left = required_string(j, "left", where);
  p.right = required_string(j, "right", where);
  const json& label = require(j, "label", where);
  if (!label.is_number_integer() || (label.get<int64_t>() != 0 && label.get<int64_t>() != 1))
    fail("{}: field 'label' must be 0 or 1, got {}", where, label.dump());
  p.label = label.get<int>();
  if (p.left == p.right) fail("{}: pair compares creative '{}' with itself", where, p.left);
  return p;
}

}  // namespace caig::data
