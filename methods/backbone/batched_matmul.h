// Batched matrix product for the many small matrices of attention.
//
// LibTorch's CPU bmm without MKL (Debian's LibTorch 1.13) multiplies a batch one matrix at a time
// through the full operator path (a select and an addmm per matrix); for attention's 128 matrices
// of 40 x 32 per call that overhead, not the arithmetic, was most of attention's share of a
// training step. Where the process has a CBLAS sgemm (libtorch's own BLAS, found at run time), this
// calls it once per matrix on raw pointers instead; everywhere else (CUDA, other dtypes, no CBLAS)
// it is at::bmm. Differentiable: the backward pass is two more batched products.
#pragma once

#include <ATen/core/Tensor.h>

namespace caig::backbone {

// a [N, m, k] @ b [N, k, n] -> [N, m, n], times `alpha`. Transposed views (e.g. k.transpose(1, 2))
// are read in place, without a copy.
at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b, double alpha = 1.0);

// True when batched_matmul's CBLAS path is available in this process (for tests and benchmarks).
bool batched_matmul_uses_cblas();

}  // namespace caig::backbone
