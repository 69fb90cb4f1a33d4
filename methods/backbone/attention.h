// Multi-head self-attention and pre-norm transformer blocks shared by the vision encoder and the
// LM, with an optional key/value cache for incremental decoding.
#pragma once

#include <cstdint>
#include <utility>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace caig::backbone {

// Keys and values of the positions seen so far by one attention layer. k_buf and v_buf are
// [B, heads, capacity, head_dim] buffers filled up to length(), so a decoding step writes one
// column in place instead of copying the whole cache; they grow (doubling) when full. Set
// `reserve` before the first call to allocate the final size at once.
struct KVCache {
  torch::Tensor k_buf, v_buf;
  int64_t filled = 0;
  int64_t reserve = 0;
  int64_t length() const { return filled; }
  torch::Tensor keys() const { return k_buf.narrow(2, 0, filled); }
  torch::Tensor values() const { return v_buf.narrow(2, 0, filled); }
  // Appends k and v [B, heads, L, head_dim] and returns all keys and values so far.
  std::pair<torch::Tensor, torch::Tensor> append(const torch::Tensor& k, const torch::Tensor& v);
};

// True when this LibTorch has at::scaled_dot_product_attention (2.0 and later).
bool sdpa_available();

// softmax(q k^T / sqrt(head_dim) + mask) v for q [B, h, Lq, dh], k and v [B, h, S, dh]. `mask` is
// additive (0 = attend, -inf = blocked), broadcastable to [B, h, Lq, S], or undefined for full
// attention; every query row must keep at least one key. `dropout` applies to the attention
// weights. use_sdpa falls back to the plain path where SDPA is unavailable.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, bool use_sdpa, double dropout = 0.0);

struct MultiHeadAttentionImpl : torch::nn::Module {
  MultiHeadAttentionImpl(int64_t d_model, int64_t heads, bool use_sdpa, double dropout);
  // x [B, L, d]; mask as in attention() over the cache's keys followed by x's. With a cache,
  // x's keys and values are appended to it.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask,
                        KVCache* cache = nullptr);

  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  int64_t heads;
  bool use_sdpa;
  double dropout;
};
TORCH_MODULE(MultiHeadAttention);

// x + attn(norm1(x)), then x + mlp(norm2(x)) with a GELU MLP of width mlp_ratio * d_model.
struct TransformerBlockImpl : torch::nn::Module {
  TransformerBlockImpl(int64_t d_model, int64_t heads, int64_t mlp_ratio, bool use_sdpa,
                       double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask,
                        KVCache* cache = nullptr);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  MultiHeadAttention attn{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  double dropout;
};
TORCH_MODULE(TransformerBlock);

}  // namespace caig::backbone
