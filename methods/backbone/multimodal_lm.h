// The tiny multimodal LM shared by CAIG's prompt model and reward model (DESIGN.md, "Tiny
// multimodal LM"): vision encoder -> linear projector -> causal transformer LM over
// [image tokens ; text tokens] -> final norm -> LM head.
//
// The LM head is tied to the token embedding by default (BackboneOptions::tie_embeddings): with a
// vocabulary of a few hundred words the saving is small, but tying lets rare words' output rows
// learn from their input occurrences. Untied, the head is a bias-free Linear named "head".
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "methods/backbone/attention.h"
#include "methods/backbone/options.h"
#include "methods/backbone/tokenizer.h"
#include "methods/backbone/vision.h"

namespace caig::backbone {

struct GenerateOptions {
  int64_t max_new_tokens = 24;
  double temperature = 1.0;  // <= 0 means greedy
  int64_t top_k = 0;         // 0: off; 1: greedy
  double top_p = 1.0;        // nucleus mass; 1: off
  bool use_cache = true;
};

struct GenerateResult {
  // Generated ids per prompt, without the prompt, cut at <eos> (not included).
  std::vector<std::vector<int64_t>> tokens;
  // log p(token | prefix, image) of every generated token under the model's own distribution
  // (temperature 1, no top-k / top-p truncation, whatever the sampling options were), so they equal
  // token_logprobs() of the same sequence. Includes the <eos> entry last when the row finished.
  std::vector<std::vector<double>> token_logprobs;
  std::vector<double> logprob;  // sum of token_logprobs per row (the <eos> term included)
  std::vector<bool> finished;   // the row emitted <eos> within max_new_tokens
};

struct MultimodalLMImpl : torch::nn::Module {
  MultimodalLMImpl(const BackboneOptions& options, const VocabInfo& vocab);

  // images [B, 3, H, W] float in [0, 1], or undefined for text-only input; tokens [B, T] int64,
  // right-padded; lengths [B] int64 real lengths (1..T). Returns logits [B, T, V] of the text
  // positions; entries at padded positions are finite but meaningless.
  // With vision_tokens, also hands back the vision encoder's output [B, N, d] (before the
  // projector), so a training loss can read it without a second encoder pass.
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& tokens,
                        const torch::Tensor& lengths, torch::Tensor* vision_tokens = nullptr);
  // Final-norm hidden states [B, T, d] of the text positions (the RM reads the last real token).
  torch::Tensor hidden_states(const torch::Tensor& images, const torch::Tensor& tokens,
                              const torch::Tensor& lengths, torch::Tensor* vision_tokens = nullptr);
  // The same from projected image tokens [B, N, d] built by the caller (e.g. image_prefix of
  // several tiles per row, concatenated); undefined: text only.
  torch::Tensor hidden_states_from_prefix(const torch::Tensor& prefix, const torch::Tensor& tokens,
                                          const torch::Tensor& lengths);
  // Logits [B, T, V] from a prefix built by the caller (see hidden_states_from_prefix).
  torch::Tensor forward_from_prefix(const torch::Tensor& prefix, const torch::Tensor& tokens,
                                    const torch::Tensor& lengths);
  // The prefix [B, 2N, d] of side-by-side pairs [B, 3, H, 2W]: each half through the encoder as
  // an image of its own, plus the tile embedding of its side: `tiles` [2, d] where given (a
  // model built on a backbone without one), else the backbone's (options().tile_embedding).
  torch::Tensor two_ad_prefix(const torch::Tensor& composites, const torch::Tensor& tiles = {});
  // [B, T]: entry t >= 1 is log p(tokens[t] | tokens[<t], image); entry 0 and padded positions
  // (t >= length) are 0. One batched forward pass.
  torch::Tensor token_logprobs(const torch::Tensor& images, const torch::Tensor& tokens,
                               const torch::Tensor& lengths);

  // Batched sampling. Prompts (non-empty, usually starting with <bos> and a task token) may differ
  // in length: they are left-padded, with per-row positions and pad keys masked, so every row
  // decodes exactly as it would alone. images as in forward() (one row per prompt) or undefined.
  // The longest prompt plus max_new_tokens must fit max_text_len. Deterministic for a seed: the
  // uniforms driving the sampler come from a CPU generator seeded with it, whatever the device.
  // Runs without gradients and in eval mode (the training flag is restored afterwards).
  GenerateResult generate(const torch::Tensor& images,
                          const std::vector<std::vector<int64_t>>& prompts,
                          const GenerateOptions& options, uint64_t seed);

  // Projected image tokens [B, N, d], or undefined when images is undefined. With vision_tokens,
  // also hands back the encoder's output before the projector.
  torch::Tensor image_prefix(const torch::Tensor& images, torch::Tensor* vision_tokens = nullptr);

  const BackboneOptions& options() const { return options_; }
  const VocabInfo& vocab() const { return vocab_; }
  torch::Device device() const;

  VisionEncoder vision{nullptr};
  torch::nn::Linear projector{nullptr};
  torch::nn::Embedding token_embed{nullptr};
  torch::Tensor text_pos;  // [max_text_len, d]
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};  // null when tied to token_embed
  torch::Tensor tile_embed;         // [2, d] (left, right); undefined without tile_embedding

 private:
  // Runs the LM over [prefix ; embedded tokens at `positions`] (or only the new tokens when the
  // caches already hold earlier keys) and returns the final-norm states of the token positions.
  torch::Tensor run(const torch::Tensor& prefix, const torch::Tensor& tokens,
                    const torch::Tensor& positions, const torch::Tensor& mask,
                    std::vector<KVCache>* caches);
  torch::Tensor logits_from(const torch::Tensor& hidden);
  void check_text(const torch::Tensor& images, const torch::Tensor& tokens,
                  const torch::Tensor& lengths) const;

  BackboneOptions options_;
  VocabInfo vocab_;
};
TORCH_MODULE(MultimodalLM);

// Sum of token_logprobs [B, T] over target_mask [B, T] (bool or 0/1): the log-probability of each
// row's masked continuation, [B].
torch::Tensor sequence_logprob(const torch::Tensor& token_logprobs,
                               const torch::Tensor& target_mask);

// hidden [B, T, d] at each row's last real position (lengths - 1) -> [B, d]; what the reward
// model's heads read.
torch::Tensor last_token_states(const torch::Tensor& hidden, const torch::Tensor& lengths);

// Additive attention mask [1 or B, 1, Lq, Lk] (0 = attend, -inf = blocked) for queries at
// absolute positions q0 .. q0 + Lq - 1 over keys 0 .. Lk - 1, of which the first n_image are image
// tokens: causal, plus image tokens seeing each other when image_bidirectional. text_key_valid
// [B, Lk - n_image] (bool) blocks padded text keys; a query always sees itself, so no row is empty.
torch::Tensor attention_mask(int64_t n_image, int64_t q0, int64_t lq, int64_t lk,
                             bool image_bidirectional, const torch::Tensor& text_key_valid,
                             const torch::TensorOptions& options);

}  // namespace caig::backbone
