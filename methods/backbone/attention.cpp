#include "methods/backbone/attention.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <torch/torch.h>
#include <torch/version.h>

#include "methods/backbone/batched_matmul.h"
#include "methods/backbone/fused_mlp.h"
#include "methods/backbone/packed_attention.h"

namespace caig::backbone {

namespace F = torch::nn::functional;

bool sdpa_available() {
#if TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
}

namespace {

torch::Tensor plain_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, const torch::Tensor& mask, double dropout) {
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), S = k.size(2), dh = q.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  // batched_matmul: the B * H products are small (e.g. 40 x 32 x 40), so per-matrix dispatch
  // overhead, not arithmetic, is what costs; the scale rides on the GEMM.
  auto scores =
      batched_matmul(q.reshape({B * H, L, dh}), k.reshape({B * H, S, dh}).transpose(1, 2), scale)
          .view({B, H, L, S});
  if (mask.defined()) scores = scores + mask;  // broadcasts, no expanded copy of the mask
  auto weights = torch::softmax(scores, -1);
  if (dropout > 0.0) weights = F::dropout(weights, F::DropoutFuncOptions().p(dropout));
  return batched_matmul(weights.reshape({B * H, L, S}), v.reshape({B * H, S, dh}))
      .view({B, H, L, dh});
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, bool use_sdpa, double dropout) {
#if TORCH_VERSION_MAJOR >= 2
  if (use_sdpa) {
    c10::optional<at::Tensor> m;
    if (mask.defined()) m = mask;
    return at::scaled_dot_product_attention(q, k, v, m, dropout, /*is_causal=*/false);
  }
#endif
  return plain_attention(q, k, v, mask, dropout);
}

std::pair<torch::Tensor, torch::Tensor> KVCache::append(const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  const int64_t need = filled + k.size(2);
  if (!k_buf.defined() || k_buf.size(2) < need) {
    const int64_t old = k_buf.defined() ? k_buf.size(2) : 0;
    const int64_t capacity = std::max({need, 2 * old, reserve});
    auto grow = [&](const torch::Tensor& buf, const torch::Tensor& like) {
      auto fresh =
          torch::empty({like.size(0), like.size(1), capacity, like.size(3)}, like.options());
      if (filled > 0) fresh.narrow(2, 0, filled).copy_(buf.narrow(2, 0, filled));
      return fresh;
    };
    k_buf = grow(k_buf, k);
    v_buf = grow(v_buf, v);
  }
  k_buf.narrow(2, filled, k.size(2)).copy_(k);
  v_buf.narrow(2, filled, v.size(2)).copy_(v);
  filled = need;
  return {keys(), values()};
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t d_model, int64_t heads_, bool use_sdpa_,
                                               double dropout_)
    : heads(heads_), use_sdpa(use_sdpa_), dropout(dropout_) {
  TORCH_CHECK(d_model % heads == 0, "d_model must be a multiple of heads");
  qkv = register_module("qkv", torch::nn::Linear(d_model, 3 * d_model));
  proj = register_module("proj", torch::nn::Linear(d_model, d_model));
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                              KVCache* cache) {
  const int64_t B = x.size(0), L = x.size(1), d = x.size(2);
  const double p = is_training() ? dropout : 0.0;
  auto packed = qkv(x);
  // Without a cache, SDPA or dropout, the packed path reads q, k and v in place (a seventh of a
  // CPU training step went to splitting them into heads and back).
  if (!cache && p == 0.0 && !(use_sdpa && sdpa_available()) && packed_attention_applies(packed))
    return proj(packed_attention(packed, heads, mask));
  // [B, L, 3, h, dh] -> [3, B, h, L, dh]
  auto parts = packed.view({B, L, 3, heads, d / heads}).permute({2, 0, 3, 1, 4});
  auto q = parts[0], k = parts[1], v = parts[2];
  if (cache) std::tie(k, v) = cache->append(k, v);
  auto out = attention(q, k, v, mask, use_sdpa, p);
  return proj(out.transpose(1, 2).reshape({B, L, d}));
}

TransformerBlockImpl::TransformerBlockImpl(int64_t d_model, int64_t heads, int64_t mlp_ratio,
                                           bool use_sdpa, double dropout_)
    : dropout(dropout_) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  attn = register_module("attn", MultiHeadAttention(d_model, heads, use_sdpa, dropout));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  fc1 = register_module("fc1", torch::nn::Linear(d_model, mlp_ratio * d_model));
  fc2 = register_module("fc2", torch::nn::Linear(mlp_ratio * d_model, d_model));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                            KVCache* cache) {
  auto residual_dropout = [this](torch::Tensor t) {
    if (dropout > 0.0 && is_training()) t = F::dropout(t, F::DropoutFuncOptions().p(dropout));
    return t;
  };
  auto h = x + residual_dropout(attn(norm1(x), mask, cache));
  const auto n = norm2(h);
  // On a CPU the MLP is one node (fused_mlp.h); the parameters, and so checkpoints, are fc1's and
  // fc2's either way.
  auto mlp = gelu_mlp_applies(n, fc1->weight, fc2->weight)
                 ? gelu_mlp(n, fc1->weight, fc1->bias, fc2->weight, fc2->bias)
                 : fc2(torch::gelu(fc1(n)));
  return h + residual_dropout(mlp);
}

}  // namespace caig::backbone
