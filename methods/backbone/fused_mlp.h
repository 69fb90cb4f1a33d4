// The transformer block's MLP, fc2(gelu(fc1(x))), as one autograd node on the CPU.
//
// Through ATen, the MLP is two linear layers and a GELU: the bias of fc1 is copied into the
// output before its GEMM, the GELU reads and writes the [N, 4d] hidden layer forward, and its
// backward reads the pre-activation and the incoming gradient again and writes a third tensor,
// then a separate sum makes fc1's bias gradient. On the cpu preset's training step those passes
// over the hidden layer were a tenth of the step (profiled: gelu 4.1 ms, gelu_backward 5.4 ms,
// of 93). Here fc1's GEMM writes the bare product, the GELU adds the bias as it reads it, and the
// backward turns the incoming gradient into the pre-activation's in place and sums fc1's bias
// gradient in the same pass (gelu_kernels.h). The GEMMs are ATen's.
#pragma once

#include <ATen/core/Tensor.h>

namespace caig::backbone {

// True when gelu_mlp can run on x and the weights: CPU float tensors (CUDA and doubles take the
// ATen operators). gelu_mlp also needs the biases 1-D, CPU and float.
bool gelu_mlp_applies(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& w2);

// fc2(gelu(fc1(x))) for x [..., d_in], w1 [hidden, d_in], b1 [hidden], w2 [d_out, hidden],
// b2 [d_out]; returns [..., d_out]. GELU is the erf form, v Phi(v), with Phi within 2.5e-7 of the
// exact one (gelu_kernels.h). Differentiable in x and in the four parameters, once (no double
// backward). The bias gradient of fc1 is summed over fixed blocks of rows in a fixed order, so it
// does not depend on the number of threads.
at::Tensor gelu_mlp(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                    const at::Tensor& w2, const at::Tensor& b2);

}  // namespace caig::backbone
