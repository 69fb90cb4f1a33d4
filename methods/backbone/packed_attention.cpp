#include "methods/backbone/packed_attention.h"

#include <cmath>

#include <torch/torch.h>

#include "methods/backbone/cblas.h"

namespace caig::backbone {

namespace {

// The shapes of one call and where each head's q, k and v start within a [B, L, 3d] row.
struct Layout {
  int64_t B, L, d, heads, dh;
  int64_t row() const { return 3 * d; }  // leading dimension of q, k, v and their gradients
  int64_t q(int64_t b, int64_t h) const { return b * L * row() + h * dh; }
  int64_t k(int64_t b, int64_t h) const { return q(b, h) + d; }
  int64_t v(int64_t b, int64_t h) const { return q(b, h) + 2 * d; }
  int64_t out(int64_t b, int64_t h) const { return b * L * d + h * dh; }  // in [B, L, d]
  int64_t scores(int64_t b, int64_t h) const { return (b * heads + h) * L * L; }
};

Layout layout_of(const at::Tensor& qkv, int64_t heads) {
  const int64_t d = qkv.size(2) / 3;
  return {qkv.size(0), qkv.size(1), d, heads, d / heads};
}

// C = alpha * op(A) op(B), row-major, int-sized arguments.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc) {
  cblas_sgemm()(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), static_cast<float>(alpha), a,
                static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c, static_cast<int>(ldc));
}

// fn(b, h) for every batch row and head, split over LibTorch's intra-op threads: the heads' small
// products are independent and each writes its own block of the output.
template <class Fn>
void for_each_head(const Layout& s, const Fn& fn) {
  at::parallel_for(0, s.B * s.heads, 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i / s.heads, i % s.heads);
  });
}

struct PackedAttention : torch::autograd::Function<PackedAttention> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv_in,
                               int64_t heads, const c10::optional<torch::Tensor>& mask) {
    const auto qkv = qkv_in.contiguous();
    const Layout s = layout_of(qkv, heads);
    const double scale = 1.0 / std::sqrt(static_cast<double>(s.dh));
    auto scores = torch::empty({s.B, heads, s.L, s.L}, qkv.options());
    auto out = torch::empty({s.B, s.L, s.d}, qkv.options());
    const float* x = qkv.data_ptr<float>();
    float* ps = scores.data_ptr<float>();
    for_each_head(s, [&](int64_t b, int64_t h) {
      gemm(false, true, s.L, s.L, s.dh, scale, x + s.q(b, h), s.row(), x + s.k(b, h), s.row(),
           ps + s.scores(b, h), s.L);
    });
    if (mask) scores.add_(*mask);
    const auto weights = torch::softmax(scores, -1);
    const float* pw = weights.data_ptr<float>();
    float* po = out.data_ptr<float>();
    for_each_head(s, [&](int64_t b, int64_t h) {
      gemm(false, false, s.L, s.dh, s.L, 1.0, pw + s.scores(b, h), s.L, x + s.v(b, h), s.row(),
           po + s.out(b, h), s.d);
    });
    ctx->save_for_backward({qkv, weights});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    // Its arithmetic runs on raw pointers, out of autograd's sight: refuse a graph of the backward.
    TORCH_CHECK(!at::GradMode::is_enabled(), "packed_attention has no double backward");
    const auto saved = ctx->get_saved_variables();
    const auto& qkv = saved[0];
    const auto& weights = saved[1];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const Layout s = layout_of(qkv, heads);
    const double scale = 1.0 / std::sqrt(static_cast<double>(s.dh));
    const auto g_out = grads[0].contiguous();
    auto g_weights = torch::empty_like(weights);
    auto g_qkv = torch::empty_like(qkv);
    const float* x = qkv.data_ptr<float>();
    const float* pw = weights.data_ptr<float>();
    const float* go = g_out.data_ptr<float>();
    float* pgw = g_weights.data_ptr<float>();
    float* gx = g_qkv.data_ptr<float>();
    // out = W v: dW = dout v^T, dv = W^T dout.
    for_each_head(s, [&](int64_t b, int64_t h) {
      gemm(false, true, s.L, s.L, s.dh, 1.0, go + s.out(b, h), s.d, x + s.v(b, h), s.row(),
           pgw + s.scores(b, h), s.L);
      gemm(true, false, s.L, s.dh, s.L, 1.0, pw + s.scores(b, h), s.L, go + s.out(b, h), s.d,
           gx + s.v(b, h), s.row());
    });
    // Through the softmax, then scores = scale q k^T: dq = scale dS k, dk = scale dS^T q.
    const auto g_scores =
        torch::_softmax_backward_data(g_weights, weights, -1, weights.scalar_type());
    const float* gs = g_scores.data_ptr<float>();
    for_each_head(s, [&](int64_t b, int64_t h) {
      gemm(false, false, s.L, s.dh, s.L, scale, gs + s.scores(b, h), s.L, x + s.k(b, h), s.row(),
           gx + s.q(b, h), s.row());
      gemm(true, false, s.L, s.dh, s.L, scale, gs + s.scores(b, h), s.L, x + s.q(b, h), s.row(),
           gx + s.k(b, h), s.row());
    });
    return {g_qkv, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool packed_attention_applies(const at::Tensor& qkv) {
  return cblas_sgemm() != nullptr && qkv.device().is_cpu() && qkv.scalar_type() == at::kFloat &&
         qkv.dim() == 3 && qkv.size(2) % 3 == 0;
}

at::Tensor packed_attention(const at::Tensor& qkv, int64_t heads, const at::Tensor& mask) {
  TORCH_CHECK(packed_attention_applies(qkv),
              "packed_attention needs a CPU float [B, L, 3d] tensor and CBLAS; got ", qkv.sizes(),
              " ", qkv.scalar_type());
  TORCH_CHECK(heads > 0 && (qkv.size(2) / 3) % heads == 0,
              "packed_attention: d = ", qkv.size(2) / 3, " is not a multiple of heads = ", heads);
  if (qkv.numel() == 0)
    return torch::zeros({qkv.size(0), qkv.size(1), qkv.size(2) / 3}, qkv.options());
  // The mask rides as an optional: autograd's inputs must all be defined tensors.
  c10::optional<torch::Tensor> m;
  if (mask.defined()) m = mask;
  return PackedAttention::apply(qkv, heads, m);
}

}  // namespace caig::backbone
