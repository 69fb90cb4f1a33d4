// Registration of the dataset sources (datasets/dataset_source.h: ShopWorld generated in
// memory, a ShopWorld directory, CreativeRanking TSV, CG4CTR / CAIG JSON) and the renderers
// (datasets/renderer_plugin.h), with the [world] config section.
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::datasets {

void register_dataset_sources(Plugins& p);  // register.cpp
void register_renderers(Plugins& p);        // register.cpp
void register_external_renderer(Plugins& p);  // external_renderer.cpp

inline void register_plugins(Plugins& p) {
  register_dataset_sources(p);
  register_renderers(p);
  register_external_renderer(p);
}

}  // namespace caig::datasets
