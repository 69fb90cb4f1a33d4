#include "methods/backbone/batched_matmul.h"

#include <algorithm>

#include <torch/torch.h>

#include "methods/backbone/cblas.h"

namespace caig::backbone {

namespace {

// How one operand's matrices lie in memory: row-major as they are, or row-major transposed (a
// transposed view of a contiguous tensor). Anything else is copied first.
struct Operand {
  at::Tensor t;
  int trans = kNoTrans;
  int64_t ld = 0;
};
Operand operand(const at::Tensor& x) {
  const int64_t rows = x.size(1), cols = x.size(2);
  if (x.stride(2) == 1 && x.stride(1) >= std::max<int64_t>(1, cols))
    return {x, kNoTrans, x.stride(1)};
  if (x.stride(1) == 1 && x.stride(2) >= std::max<int64_t>(1, rows))
    return {x, kTrans, x.stride(2)};
  auto c = x.contiguous();
  return {c, kNoTrans, std::max<int64_t>(1, cols)};
}

bool cblas_applies(const at::Tensor& a, const at::Tensor& b) {
  return cblas_sgemm() != nullptr && a.device().is_cpu() && b.device().is_cpu() &&
         a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && a.dim() == 3 &&
         b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1);
}

// The forward product without autograd: one sgemm per matrix.
at::Tensor cblas_bmm(const at::Tensor& a_in, const at::Tensor& b_in, double alpha) {
  const int64_t n_batch = a_in.size(0), m = a_in.size(1), k = a_in.size(2), n = b_in.size(2);
  auto out = torch::empty({n_batch, m, n}, a_in.options());
  if (out.numel() == 0) return out;
  if (k == 0) return out.zero_();
  const Operand a = operand(a_in), b = operand(b_in);
  const float* pa = a.t.data_ptr<float>();
  const float* pb = b.t.data_ptr<float>();
  float* pc = out.data_ptr<float>();
  const SgemmFn sgemm = cblas_sgemm();
  for (int64_t i = 0; i < n_batch; ++i)
    sgemm(kRowMajor, a.trans, b.trans, static_cast<int>(m), static_cast<int>(n),
          static_cast<int>(k), static_cast<float>(alpha), pa + i * a.t.stride(0),
          static_cast<int>(a.ld), pb + i * b.t.stride(0), static_cast<int>(b.ld), 0.0f,
          pc + i * m * n, static_cast<int>(n));
  return out;
}

struct BatchedMatmul : torch::autograd::Function<BatchedMatmul> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a,
                               const torch::Tensor& b, double alpha) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["alpha"] = alpha;
    return cblas_bmm(a, b, alpha);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const double alpha = ctx->saved_data["alpha"].toDouble();
    const auto& a = saved[0];
    const auto& b = saved[1];
    const auto g = grads[0];
    torch::Tensor ga, gb;
    // d(alpha a b)/da = alpha g b^T, d/db = alpha a^T g: transposed views, read in place.
    if (ctx->needs_input_grad(0)) ga = cblas_bmm(g, b.transpose(1, 2), alpha);
    if (ctx->needs_input_grad(1)) gb = cblas_bmm(a.transpose(1, 2), g, alpha);
    return {ga, gb, torch::Tensor()};
  }
};

}  // namespace

bool batched_matmul_uses_cblas() { return cblas_sgemm() != nullptr; }

at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b, double alpha) {
  if (!cblas_applies(a, b)) {
    auto out = torch::bmm(a, b);
    return alpha == 1.0 ? out : out.mul_(alpha);
  }
  return BatchedMatmul::apply(a, b, alpha);
}

}  // namespace caig::backbone
