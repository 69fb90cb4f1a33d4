// Registration of the preference optimisers (family.cpp): dpo, pcpo, ipo, hinge, robust, simpo,
// orpo, kto, mdpo, best_of_n and none.
#pragma once

namespace caig {
struct Plugins;
}

namespace caig::optimisers {

void register_optimiser_family(Plugins& p);  // family.cpp

inline void register_plugins(Plugins& p) { register_optimiser_family(p); }

}  // namespace caig::optimisers
