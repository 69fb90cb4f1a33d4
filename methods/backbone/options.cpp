#include "methods/backbone/options.h"

#include <nlohmann/json.hpp>

#include "harness/error.h"

namespace caig::backbone {

namespace {

// One table drives both directions, so a new field cannot be saved but not loaded.
template <typename F>
void for_each_field(BackboneOptions& o, F&& f) {
  f("image_size", o.image_size);
  f("patch", o.patch);
  f("conv_stem", o.conv_stem);
  f("subpatch_stem", o.subpatch_stem);
  f("d_model", o.d_model);
  f("heads", o.heads);
  f("vision_layers", o.vision_layers);
  f("lm_layers", o.lm_layers);
  f("mlp_ratio", o.mlp_ratio);
  f("max_text_len", o.max_text_len);
  f("max_grid_h", o.max_grid_h);
  f("max_grid_w", o.max_grid_w);
  f("dropout", o.dropout);
  f("use_sdpa", o.use_sdpa);
  f("image_prefix_bidirectional", o.image_prefix_bidirectional);
  f("tie_embeddings", o.tie_embeddings);
  f("tile_embedding", o.tile_embedding);
}

template <typename T>
bool json_has_type(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  if constexpr (std::is_same_v<T, int64_t>) return v.is_number_integer();
  if constexpr (std::is_same_v<T, double>) return v.is_number();
  return false;
}

}  // namespace

nlohmann::json BackboneOptions::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  BackboneOptions copy = *this;
  for_each_field(copy, [&j](const char* key, const auto& value) { j[key] = value; });
  return j;
}

BackboneOptions BackboneOptions::from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail("backbone options: expected a JSON object");
  BackboneOptions o;
  size_t known = 0;
  for_each_field(o, [&](const char* key, auto& value) {
    using T = std::decay_t<decltype(value)>;
    auto it = j.find(key);
    if (it == j.end()) return;
    ++known;
    if (!json_has_type<T>(*it))
      fail("backbone options: '{}' has the wrong type ({})", key, it->dump());
    value = it->template get<T>();
  });
  if (known != j.size()) {
    BackboneOptions probe;
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool found = false;
      for_each_field(probe, [&](const char* key, auto&) { found = found || it.key() == key; });
      if (!found) fail("backbone options: unknown key '{}'", it.key());
    }
  }
  o.validate();
  return o;
}

void BackboneOptions::validate() const {
  auto positive = [](const char* key, int64_t v) {
    if (v <= 0) fail("backbone options: '{}' must be positive (got {})", key, v);
  };
  positive("image_size", image_size);
  positive("patch", patch);
  // Both stems take channels (0: off) and divide the patch by 4.
  auto stem = [this](const char* key, int64_t channels) {
    if (channels < 0) fail("backbone options: '{}' must be 0 or positive (got {})", key, channels);
    if (channels > 0 && patch % 4 != 0)
      fail("backbone options: a stem ('{}' {}) needs 'patch' to be a multiple of 4 (got {})", key,
           channels, patch);
  };
  stem("conv_stem", conv_stem);
  stem("subpatch_stem", subpatch_stem);
  if (subpatch_stem > 0 && conv_stem > 0)
    fail("backbone options: 'conv_stem' ({}) and 'subpatch_stem' ({}) exclude each other",
         conv_stem, subpatch_stem);
  positive("d_model", d_model);
  positive("heads", heads);
  positive("mlp_ratio", mlp_ratio);
  positive("max_text_len", max_text_len);
  positive("max_grid_h", max_grid_h);
  positive("max_grid_w", max_grid_w);
  if (vision_layers < 0)
    fail("backbone options: 'vision_layers' must be >= 0 (got {})", vision_layers);
  if (lm_layers < 0) fail("backbone options: 'lm_layers' must be >= 0 (got {})", lm_layers);
  if (d_model % heads != 0) {
    fail("backbone options: 'd_model' ({}) must be a multiple of 'heads' ({})", d_model, heads);
  }
  if (image_size % patch != 0) {
    fail("backbone options: 'image_size' ({}) must be a multiple of 'patch' ({})", image_size,
         patch);
  }
  if (image_size / patch > max_grid_h || image_size / patch > max_grid_w) {
    fail(
        "backbone options: 'image_size' {} at 'patch' {} needs a {}x{} grid, more than "
        "max_grid_h x max_grid_w = {}x{}",
        image_size, patch, image_size / patch, image_size / patch, max_grid_h, max_grid_w);
  }
  if (!(dropout >= 0.0 && dropout < 1.0)) {
    fail("backbone options: 'dropout' must be in [0, 1) (got {})", dropout);
  }
}

}  // namespace caig::backbone
