// Experiment configuration: TOML files over typed defaults, presets, and --set overrides.
// A config is JSON in memory; the defaults define the schema: an unknown key or a wrong type is an
// error naming the key and the file it came from. An empty table in the defaults is an open map
// (plugin configs keyed by plugin name); its entries are checked by the plugin's registry.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

nlohmann::json parse_toml_file(const std::filesystem::path& path);
nlohmann::json parse_toml_string(const std::string& text, const std::string& source);

// Merges `overlay` into `base`, checking every key of overlay against base. `prefix` is the dotted
// path of `base` used in messages ("world"), `source` the file or "--set".
void merge_checked(nlohmann::json& base, const nlohmann::json& overlay, const std::string& source,
                   const std::string& prefix = "");

// Applies one "a.b.c=value" override. The value is parsed as a TOML value (0.9, true, "x",
// [1, 2]); a bare word is taken as a string.
void apply_set(nlohmann::json& config, const std::string& assignment);

// Dotted lookup with a clear error: at(config, "world.rho").
const nlohmann::json& at_path(const nlohmann::json& config, const std::string& dotted);

// Built-in presets (experiments/presets/*.toml, compiled in).
const std::map<std::string, std::string>& embedded_presets();
std::vector<std::string> preset_names();

struct ResolveRequest {
  std::filesystem::path experiment;  // empty: defaults only
  std::string preset = "cpu";
  std::vector<std::string> sets;     // "--set key=value" overrides, applied last
};

// defaults <- preset <- experiment file <- experiment's [presets.<preset>] <- --set.
// Records the preset and the experiment path under "run".
nlohmann::json resolve_config(const nlohmann::json& defaults, const ResolveRequest& request);

// Registry of config sections: each module registers its section's defaults (one place).
void add_config_section(const std::string& name, nlohmann::json defaults);
nlohmann::json default_config();

}  // namespace caig
