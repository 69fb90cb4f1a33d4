#include "harness/config.h"

#include <set>

#include <sstream>

#include <toml++/toml.h>

#include "harness/error.h"

namespace caig {

namespace {

nlohmann::json node_to_json(const toml::node& node) {
  if (auto t = node.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : *t) j[std::string(k.str())] = node_to_json(v);
    return j;
  }
  if (auto a = node.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : *a) j.push_back(node_to_json(v));
    return j;
  }
  if (auto v = node.as_string()) return v->get();
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_boolean()) return v->get();
  // Dates and times are kept as text.
  std::ostringstream ss;
  if (auto v = node.as_date()) ss << *v;
  if (auto v = node.as_time()) ss << *v;
  if (auto v = node.as_date_time()) ss << *v;
  return ss.str();
}

std::string type_name(const nlohmann::json& j) {
  if (j.is_number_integer()) return "integer";
  if (j.is_number_float()) return "float";
  return j.type_name();
}

std::string join_keys(const nlohmann::json& obj) {
  std::string s;
  for (const auto& [k, v] : obj.items()) s += (s.empty() ? "" : ", ") + k;
  return s;
}

// Whether a value of type `b` may replace one of type `a`.
bool compatible(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_null()) return true;
  if (a.is_number_float()) return b.is_number();
  if (a.is_number_integer()) return b.is_number_integer();
  return a.type() == b.type();
}

std::map<std::string, nlohmann::json>& sections() {
  static std::map<std::string, nlohmann::json> s;
  return s;
}

}  // namespace

nlohmann::json parse_toml_string(const std::string& text, const std::string& source) {
  try {
    return node_to_json(toml::parse(std::string_view(text), std::string_view(source)));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    fail("{}:{}:{}: malformed TOML: {}", source, b.line, b.column, e.description());
  }
}

nlohmann::json parse_toml_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) fail("experiment file {} does not exist", path.string());
  try {
    return node_to_json(toml::parse_file(path.string()));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    fail("{}:{}:{}: malformed TOML: {}", path.string(), b.line, b.column, e.description());
  }
}

namespace {

// Top-level sections registered as open maps (plugin configs keyed by plugin name): they stay open
// after a first layer has added entries to them.
std::set<std::string>& open_sections() {
  static std::set<std::string> s;
  return s;
}

// Entries of an open map are checked by their plugin's registry, not here: layers merge deeply.
void merge_unchecked(nlohmann::json& base, const nlohmann::json& overlay) {
  for (const auto& [key, value] : overlay.items()) {
    if (base.contains(key) && base[key].is_object() && value.is_object())
      merge_unchecked(base[key], value);
    else
      base[key] = value;
  }
}

}  // namespace

void merge_checked(nlohmann::json& base, const nlohmann::json& overlay, const std::string& source,
                   const std::string& prefix) {
  if (!overlay.is_object()) fail("{}: '{}' must be a table", source, prefix);
  const bool open_map = base.is_object() && (base.empty() || open_sections().count(prefix) > 0);
  for (const auto& [key, value] : overlay.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (open_map) {
      if (!value.is_object())
        fail("{}: '{}' must be a table (the config of '{}')", source, path, key);
      if (!base.contains(key)) base[key] = nlohmann::json::object();
      merge_unchecked(base[key], value);
      continue;
    }
    if (!base.contains(key)) {
      fail("{}: unknown key '{}' (known keys under '{}': {})", source, path,
           prefix.empty() ? "top level" : prefix, join_keys(base));
    }
    nlohmann::json& target = base[key];
    if (target.is_object()) {
      if (!value.is_object())
        fail("{}: key '{}' must be a table, got {}", source, path, type_name(value));
      merge_checked(target, value, source, path);
      continue;
    }
    if (!compatible(target, value))
      fail("{}: key '{}' must be {}, got {} ({})", source, path, type_name(target),
           type_name(value), value.dump());
    if (target.is_array() && !target.empty()) {
      for (const auto& el : value)
        if (!compatible(target.front(), el))
          fail("{}: key '{}' must hold {} values, got {} ({})", source, path,
               type_name(target.front()), type_name(el), el.dump());
    }
    if (target.is_number_float() && value.is_number_integer())
      target = value.get<double>();
    else
      target = value;
  }
}

void apply_set(nlohmann::json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("--set '{}': expected key=value (e.g. world.rho=0.9)", assignment);
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = node_to_json(
        *toml::parse(std::string_view("v = " + text), std::string_view("--set"))["v"].node());
  } catch (const toml::parse_error&) {
    value = text;  // a bare word
  }
  // Build the nested overlay {"a": {"b": value}} and merge it with the usual checks.
  nlohmann::json overlay = value;
  std::string rest = key;
  std::vector<std::string> parts;
  for (size_t p; (p = rest.find('.')) != std::string::npos; rest = rest.substr(p + 1))
    parts.push_back(rest.substr(0, p));
  parts.push_back(rest);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (it->empty()) fail("--set '{}': empty key segment", assignment);
    overlay = nlohmann::json{{*it, overlay}};
  }
  merge_checked(config, overlay, "--set " + assignment);
}

const nlohmann::json& at_path(const nlohmann::json& config, const std::string& dotted) {
  const nlohmann::json* node = &config;
  std::string rest = dotted;
  while (true) {
    const auto p = rest.find('.');
    const std::string key = rest.substr(0, p);
    if (!node->is_object() || !node->contains(key)) fail("config has no key '{}'", dotted);
    node = &(*node)[key];
    if (p == std::string::npos) return *node;
    rest = rest.substr(p + 1);
  }
}

std::vector<std::string> preset_names() {
  std::vector<std::string> n;
  for (const auto& [k, v] : embedded_presets()) n.push_back(k);
  return n;
}

nlohmann::json resolve_config(const nlohmann::json& defaults, const ResolveRequest& request) {
  nlohmann::json cfg = defaults;
  const auto& presets = embedded_presets();
  auto pit = presets.find(request.preset);
  if (pit == presets.end()) {
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown preset '{}'; known: {}", request.preset, known);
  }
  merge_checked(cfg, parse_toml_string(pit->second, "preset " + request.preset),
                "preset " + request.preset);
  if (!request.experiment.empty()) {
    nlohmann::json exp = parse_toml_file(request.experiment);
    nlohmann::json per_preset;
    if (exp.contains("presets")) {
      per_preset = exp["presets"];
      exp.erase("presets");
      if (!per_preset.is_object())
        fail("{}: 'presets' must be a table of preset names", request.experiment.string());
      for (const auto& [name, v] : per_preset.items())
        if (!presets.count(name))
          fail("{}: unknown preset '{}' under 'presets'", request.experiment.string(), name);
    }
    const std::string src = request.experiment.string();
    merge_checked(cfg, exp, src);
    if (per_preset.contains(request.preset))
      merge_checked(cfg, per_preset[request.preset], src + " [presets." + request.preset + "]");
    if (cfg["run"]["name"].get<std::string>().empty())
      cfg["run"]["name"] = request.experiment.stem().string();
    cfg["run"]["experiment"] = request.experiment.string();
  }
  for (const auto& s : request.sets) apply_set(cfg, s);
  cfg["run"]["preset"] = request.preset;
  return cfg;
}

void add_config_section(const std::string& name, nlohmann::json defaults) {
  auto& s = sections();
  if (s.count(name)) fail("config section '{}' is registered twice", name);
  if (defaults.is_object() && defaults.empty()) open_sections().insert(name);
  s.emplace(name, std::move(defaults));
}

nlohmann::json default_config() {
  nlohmann::json cfg = nlohmann::json::object();
  for (const auto& [name, d] : sections()) cfg[name] = d;
  return cfg;
}

}  // namespace caig
