// Typed plugin registries: register by name with a help line and a default config; create from a
// config validated against those defaults; an unknown name lists the known ones.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/config.h"
#include "harness/error.h"

namespace caig {

// What every factory receives besides its own config: the whole resolved experiment config and
// the seed derived for this plugin.
struct PluginContext {
  const nlohmann::json* experiment = nullptr;
  uint64_t seed = 0;
};

template <class T>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<T>(const nlohmann::json& config, const PluginContext&)>;
  struct Entry {
    std::string name;
    std::string help;
    nlohmann::json defaults;  // the plugin's own config with its defaults in one place
    Factory factory;
  };

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(std::string name, std::string help, nlohmann::json defaults, Factory factory) {
    if (entries_.count(name)) fail("{} '{}' is registered twice", kind_, name);
    if (!defaults.is_object()) fail("{} '{}': default config must be a table", kind_, name);
    Entry e{name, std::move(help), std::move(defaults), std::move(factory)};
    entries_.emplace(std::move(name), std::move(e));
  }

  const Entry& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string known;
      for (const auto& [n, e] : entries_) known += (known.empty() ? "" : ", ") + n;
      fail("unknown {} '{}'; known: {}", kind_, name, known.empty() ? "(none registered)" : known);
    }
    return it->second;
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  // The plugin's defaults with `overrides` merged on top (unknown keys and wrong types are errors
  // naming `source`).
  nlohmann::json resolve_config(const std::string& name, const nlohmann::json& overrides,
                                const std::string& source) const {
    nlohmann::json cfg = get(name).defaults;
    if (!overrides.is_null()) merge_checked(cfg, overrides, source, kind_ + "." + name);
    return cfg;
  }

  std::unique_ptr<T> create(const std::string& name, const nlohmann::json& overrides,
                            const PluginContext& ctx, const std::string& source = "config") const {
    return get(name).factory(resolve_config(name, overrides, source), ctx);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, e] : entries_) out.push_back(n);
    return out;
  }
  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace caig
