// The `cpu` preset's backbone options, resolved exactly as `caig run --preset cpu` resolves them
// (defaults <- experiments/presets/cpu.toml), so the benchmarks measure the model the preset
// trains.
#pragma once

#include "harness/config.h"
#include "harness/plugins.h"
#include "methods/backbone/options.h"

namespace caig::bench {

inline backbone::BackboneOptions cpu_preset_backbone() {
  static const backbone::BackboneOptions o = [] {
    register_builtin_plugins();
    const auto cfg = resolve_config(default_config(), ResolveRequest{"", "cpu", {}});
    return backbone::BackboneOptions::from_json(at_path(cfg, "backbone"));
  }();
  return o;
}

}  // namespace caig::bench
