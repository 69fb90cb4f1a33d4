#include "harness/plugins.h"

namespace caig {

Plugins& plugins() {
  static Plugins p;
  return p;
}

}  // namespace caig
