#include "methods/backbone/fused_mlp.h"

#include <torch/torch.h>

#include "methods/backbone/gelu_kernels.h"

namespace caig::backbone {

namespace {

// Rows per block of the elementwise passes: each block is one task for the intra-op threads and
// owns one partial bias gradient, added up in block order afterwards.
constexpr int64_t kRowsPerBlock = 32;

int64_t blocks_of(int64_t rows) { return (rows + kRowsPerBlock - 1) / kRowsPerBlock; }

// fn(first_row, row_count, block) for every block, split over LibTorch's intra-op threads.
template <class Fn>
void for_each_block(int64_t rows, const Fn& fn) {
  at::parallel_for(0, blocks_of(rows), 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t first = b * kRowsPerBlock;
      fn(first, std::min(kRowsPerBlock, rows - first), b);
    }
  });
}

struct GeluMlp : torch::autograd::Function<GeluMlp> {
  // x2 [N, d_in] (contiguous); returns [N, d_out].
  // `slope`: whether a backward may follow (decided outside: apply() turns grad mode off).
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x2,
                               const torch::Tensor& w1, const torch::Tensor& b1,
                               const torch::Tensor& w2, const torch::Tensor& b2, bool slope) {
    const int64_t rows = x2.size(0), hidden = w1.size(0);
    // Without b1: the GELU pass adds it, and overwrites the product with GELU's slope where a
    // backward may follow.
    auto pre = torch::mm(x2, w1.t());
    auto h = torch::empty_like(pre);
    float* pp = pre.data_ptr<float>();
    const float* pb = b1.data_ptr<float>();
    float* ph = h.data_ptr<float>();
    for_each_block(rows, [&](int64_t first, int64_t count, int64_t) {
      float* p = pp + first * hidden;
      bias_gelu_forward(p, pb, ph + first * hidden, slope ? p : nullptr, count, hidden);
    });
    ctx->save_for_backward({x2, w1, w2, pre, h});
    return torch::addmm(b2, h, w2.t());
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    // Its arithmetic runs on raw pointers, out of autograd's sight: refuse a graph of the backward.
    TORCH_CHECK(!at::GradMode::is_enabled(), "gelu_mlp has no double backward");
    const auto saved = ctx->get_saved_variables();
    const auto &x2 = saved[0], &w1 = saved[1], &w2 = saved[2], &slope = saved[3], &h = saved[4];
    const auto g = grads[0].contiguous();
    const int64_t rows = x2.size(0), hidden = w1.size(0);
    auto g_w2 = torch::mm(g.t(), h);
    auto g_b2 = g.sum(0);
    auto g_pre = torch::mm(g, w2);  // dL/dh, turned into dL/dpre in place below
    auto partial = torch::zeros({blocks_of(rows), hidden}, g.options());
    const float* pslope = slope.data_ptr<float>();
    float* pg = g_pre.data_ptr<float>();
    float* ps = partial.data_ptr<float>();
    for_each_block(rows, [&](int64_t first, int64_t count, int64_t block) {
      gelu_slope_backward(pslope + first * hidden, pg + first * hidden, ps + block * hidden, count,
                          hidden);
    });
    // Block by block in a fixed order: the same sum whatever the thread count.
    auto g_b1 = torch::zeros({hidden}, g.options());
    float* pgb = g_b1.data_ptr<float>();
    for (int64_t b = 0; b < partial.size(0); ++b)
      for (int64_t c = 0; c < hidden; ++c) pgb[c] += ps[b * hidden + c];
    auto g_w1 = torch::mm(g_pre.t(), x2);
    auto g_x = torch::mm(g_pre, w1);
    return {g_x, g_w1, g_b1, g_w2, g_b2, torch::Tensor()};
  }
};

}  // namespace

bool gelu_mlp_applies(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& w2) {
  auto cpu_float = [](const at::Tensor& t) {
    return t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat;
  };
  return cpu_float(x) && cpu_float(w1) && cpu_float(w2);
}

at::Tensor gelu_mlp(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                    const at::Tensor& w2, const at::Tensor& b2) {
  auto cpu_float_vector = [](const at::Tensor& b) {
    return b.defined() && b.device().is_cpu() && b.scalar_type() == at::kFloat && b.dim() == 1;
  };
  TORCH_CHECK(gelu_mlp_applies(x, w1, w2) && cpu_float_vector(b1) && cpu_float_vector(b2),
              "gelu_mlp needs CPU float tensors and two 1-D biases");
  TORCH_CHECK(x.dim() >= 1 && w1.dim() == 2 && w2.dim() == 2 && x.size(-1) == w1.size(1) &&
                  b1.size(0) == w1.size(0) && w2.size(1) == w1.size(0) && b2.size(0) == w2.size(0),
              "gelu_mlp: shapes do not chain: x ", x.sizes(), ", w1 ", w1.sizes(), ", b1 ",
              b1.sizes(), ", w2 ", w2.sizes(), ", b2 ", b2.sizes());
  auto out_shape = x.sizes().vec();
  out_shape.back() = w2.size(0);
  const auto x2 = x.reshape({-1, x.size(-1)}).contiguous();
  const bool backward_may_follow = at::GradMode::is_enabled() &&
                                   (x.requires_grad() || w1.requires_grad() || b1.requires_grad() ||
                                    w2.requires_grad() || b2.requires_grad());
  return GeluMlp::apply(x2, w1.contiguous(), b1.contiguous(), w2.contiguous(), b2.contiguous(),
                        backward_may_follow)
      .view(out_shape);
}

}  // namespace caig::backbone
