// Self-attention read straight from the packed q|k|v projection, for training on a CPU.
//
// The plain path splits qkv(x) [B, L, 3d] into per-head q, k and v views, and autograd then pays
// for the split twice: each head-merging reshape copies (q, k, v and the output, forward and
// backward), and the backward of the three selects zero-fills and adds three full [3, B, h, L, dh]
// gradients. Measured on the cpu preset's training step: about a seventh of the step. Here one
// autograd node reads q, k and v in place (leading dimension 3d), writes the heads' outputs
// straight into [B, L, d], and writes the gradients of q, k and v straight into one [B, L, 3d]
// gradient; softmax and its backward are ATen's. Needs the process's CBLAS (cblas.h).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace caig::backbone {

// True when packed_attention can run on `qkv`: a CPU float tensor [B, L, 3d] and a CBLAS sgemm
// in the process. Everything else (CUDA, doubles, no CBLAS) takes attention() instead.
bool packed_attention_applies(const at::Tensor& qkv);

// softmax(q k^T / sqrt(dh) + mask) v per head, for qkv [B, L, 3d] laid out as
// [q heads | k heads | v heads] (each d = heads * dh wide); returns [B, L, d] with the heads side
// by side. `mask` is additive, broadcastable to [B, heads, L, L], or undefined; every query row
// must keep at least one key. Differentiable in qkv (not in the mask), once: its backward runs on
// raw pointers, so it has no double backward.
at::Tensor packed_attention(const at::Tensor& qkv, int64_t heads, const at::Tensor& mask);

}  // namespace caig::backbone
