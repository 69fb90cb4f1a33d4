#include "methods/backbone/cblas.h"

#include <dlfcn.h>

#include <cstdlib>

namespace caig::backbone {

SgemmFn cblas_sgemm() {
  static const SgemmFn fn = [] {
    if (std::getenv("CAIG_NO_CBLAS")) return SgemmFn{nullptr};
    auto f = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
    if (f == nullptr) return f;
    // Trust it only after one product checked by hand: [1 2; 3 4] [5 6; 7 8]^T = [17 23; 39 53].
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    float c[4] = {0, 0, 0, 0};
    f(kRowMajor, kNoTrans, kTrans, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    const bool ok = c[0] == 17 && c[1] == 23 && c[2] == 39 && c[3] == 53;
    return ok ? f : SgemmFn{nullptr};
  }();
  return fn;
}

}  // namespace caig::backbone
