// Registration of the prompt models, one per file: `caig` (the pretrained backbone,
// caig_prompt_model.cpp), `template` and `random` (world_prompt_models.cpp).
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::prompts {

void register_caig_prompt_model(Plugins& p);    // caig_prompt_model.cpp
void register_world_prompt_models(Plugins& p);  // world_prompt_models.cpp

inline void register_plugins(Plugins& p) {
  register_caig_prompt_model(p);
  register_world_prompt_models(p);
}

}  // namespace caig::prompts
