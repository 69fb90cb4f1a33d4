// The process's CBLAS sgemm, looked up at run time (libtorch's own BLAS on Debian), so the build
// needs no BLAS headers and a LibTorch without a global CBLAS simply takes ATen's operators.
// Torch-free.
#pragma once

namespace caig::backbone {

// The CBLAS interface's enums, as in every cblas.h.
enum CblasLayout { kRowMajor = 101 };
enum CblasTranspose { kNoTrans = 111, kTrans = 112 };
using SgemmFn = void (*)(int layout, int transa, int transb, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);

// cblas_sgemm, or nullptr when the process has none, when it fails a product checked by hand, or
// when CAIG_NO_CBLAS is set (to compare both paths).
SgemmFn cblas_sgemm();

}  // namespace caig::backbone
