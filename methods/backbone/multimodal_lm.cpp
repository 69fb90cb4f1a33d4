#include "methods/backbone/multimodal_lm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "harness/error.h"

namespace caig::backbone {

namespace {

// Puts a module in eval mode for a scope and restores its training flag afterwards.
class EvalScope {
 public:
  explicit EvalScope(torch::nn::Module& m) : module_(m), was_training_(m.is_training()) {
    module_.eval();
  }
  ~EvalScope() { module_.train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Picks the next token per row from logits [B, V]. Greedy when temperature <= 0 or top_k == 1;
// otherwise inverse-CDF sampling with one uniform per row from `gen`, drawn on the CPU so the
// stream is the same on every device and for cached and uncached decoding.
torch::Tensor choose_next(const torch::Tensor& logits, const GenerateOptions& o,
                          at::Generator& gen) {
  if (o.temperature <= 0.0 || o.top_k == 1) return logits.argmax(-1);
  const int64_t B = logits.size(0), V = logits.size(1);
  auto probs = torch::softmax(logits.to(torch::kFloat64) / o.temperature, -1);
  if (o.top_k > 1 && o.top_k < V) {
    auto keep = torch::zeros_like(probs).scatter_(1, std::get<1>(probs.topk(o.top_k, -1)), 1.0);
    probs = probs * keep;
  }
  if (o.top_p < 1.0) {
    auto [sorted, order] = probs.sort(-1, /*descending=*/true);
    auto share = sorted / sorted.sum(-1, /*keepdim=*/true);
    // Drop a token once the mass ranked above it already reaches top_p (the first always stays).
    auto drop = (share.cumsum(-1) - share) >= o.top_p;
    probs = torch::zeros_like(probs).scatter_(1, order, sorted.masked_fill(drop, 0.0));
  }
  auto u = torch::rand({B}, gen, torch::TensorOptions().dtype(torch::kFloat64)).to(probs.device());
  auto cdf = probs.cumsum(-1);
  auto target = (u * cdf.select(1, V - 1)).unsqueeze(1);
  return (cdf <= target).sum(-1).clamp_max(V - 1);
}

}  // namespace

MultimodalLMImpl::MultimodalLMImpl(const BackboneOptions& options, const VocabInfo& vocab)
    : options_(options), vocab_(vocab) {
  options_.validate();
  if (vocab_.size <= 0)
    fail("multimodal LM: vocabulary size must be positive (got {})", vocab_.size);
  for (int64_t id : {vocab_.pad_id, vocab_.bos_id, vocab_.eos_id}) {
    if (id < 0 || id >= vocab_.size)
      fail("multimodal LM: special id {} outside the vocabulary", id);
  }
  const int64_t d = options_.d_model;
  vision = register_module("vision", VisionEncoder(options_));
  projector = register_module("projector", torch::nn::Linear(d, d));
  token_embed = register_module("token_embed", torch::nn::Embedding(vocab_.size, d));
  text_pos = register_parameter("text_pos", torch::zeros({options_.max_text_len, d}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.lm_layers; ++i) {
    blocks->push_back(TransformerBlock(d, options_.heads, options_.mlp_ratio, options_.use_sdpa,
                                       options_.dropout));
  }
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  if (!options_.tie_embeddings) {
    head = register_module("head",
                           torch::nn::Linear(torch::nn::LinearOptions(d, vocab_.size).bias(false)));
  }

  // GPT-2 style init: N(0, 0.02) for matrices and tables, the residual output projections scaled
  // down by sqrt(2 * layers) so the residual stream's variance does not grow with depth; zero
  // biases. LayerNorms and the patch convolution keep LibTorch's defaults.
  torch::NoGradGuard no_grad;
  const double residual_std =
      0.02 / std::sqrt(2.0 * static_cast<double>(std::max<int64_t>(1, options_.lm_layers)));
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    torch::Tensor& t = p.value();
    if (ends_with(name, ".bias")) {
      t.zero_();
    } else if (t.dim() == 2) {
      const bool residual = ends_with(name, "attn.proj.weight") || ends_with(name, "fc2.weight");
      t.normal_(0.0, residual ? residual_std : 0.02);
    }
  }
  // Drawn after every other table, so a backbone without it starts from the same weights.
  if (options_.tile_embedding)
    tile_embed = register_parameter("tile_embed", torch::randn({2, d}) * 0.02);
}

torch::Device MultimodalLMImpl::device() const { return token_embed->weight.device(); }

torch::Tensor MultimodalLMImpl::image_prefix(const torch::Tensor& images,
                                             torch::Tensor* vision_tokens) {
  if (!images.defined()) return {};
  auto v = vision(images.to(device(), token_embed->weight.scalar_type()));
  if (vision_tokens) *vision_tokens = v;
  return projector(v);
}

void MultimodalLMImpl::check_text(const torch::Tensor& images, const torch::Tensor& tokens,
                                  const torch::Tensor& lengths) const {
  if (tokens.dim() != 2 || tokens.scalar_type() != torch::kLong) {
    fail("multimodal LM: tokens must be int64 [B, T], got {} {}", c10::str(tokens.scalar_type()),
         c10::str(tokens.sizes()));
  }
  const int64_t B = tokens.size(0), T = tokens.size(1);
  if (T < 1 || T > options_.max_text_len) {
    fail("multimodal LM: text length {} outside 1..max_text_len ({})", T, options_.max_text_len);
  }
  if (lengths.dim() != 1 || lengths.size(0) != B) {
    fail("multimodal LM: lengths must be [B] = [{}], got {}", B, c10::str(lengths.sizes()));
  }
  if (B > 0) {
    const auto lo = lengths.min().item<int64_t>(), hi = lengths.max().item<int64_t>();
    if (lo < 1 || hi > T) fail("multimodal LM: lengths must be in 1..{} (got {}..{})", T, lo, hi);
  }
  if (images.defined() && (images.dim() != 4 || images.size(0) != B)) {
    fail("multimodal LM: images must be [B = {}, 3, H, W], got {}", B, c10::str(images.sizes()));
  }
}

torch::Tensor MultimodalLMImpl::run(const torch::Tensor& prefix, const torch::Tensor& tokens,
                                    const torch::Tensor& positions, const torch::Tensor& mask,
                                    std::vector<KVCache>* caches) {
  auto x = token_embed(tokens) + torch::embedding(text_pos, positions);
  const int64_t n_image = prefix.defined() ? prefix.size(1) : 0;
  if (n_image > 0) x = torch::cat({prefix, x}, 1);
  for (size_t i = 0; i < blocks->size(); ++i) {
    KVCache* cache = caches ? &(*caches)[i] : nullptr;
    x = blocks[i]->as<TransformerBlockImpl>()->forward(x, mask, cache);
  }
  if (n_image > 0) x = x.slice(1, n_image);
  return norm(x);
}

torch::Tensor MultimodalLMImpl::logits_from(const torch::Tensor& hidden) {
  return head ? head(hidden) : torch::linear(hidden, token_embed->weight);
}

torch::Tensor MultimodalLMImpl::hidden_states(const torch::Tensor& images,
                                              const torch::Tensor& tokens,
                                              const torch::Tensor& lengths,
                                              torch::Tensor* vision_tokens) {
  check_text(images, tokens, lengths);
  return hidden_states_from_prefix(image_prefix(images, vision_tokens), tokens, lengths);
}

torch::Tensor MultimodalLMImpl::hidden_states_from_prefix(const torch::Tensor& prefix,
                                                          const torch::Tensor& tokens,
                                                          const torch::Tensor& lengths) {
  check_text({}, tokens, lengths);
  if (prefix.defined() &&
      (prefix.dim() != 3 || prefix.size(0) != tokens.size(0) || prefix.size(2) != options_.d_model))
    fail("multimodal LM: image prefix must be [B = {}, N, d = {}], got {}", tokens.size(0),
         options_.d_model, c10::str(prefix.sizes()));
  const auto dev = device();
  const int64_t n_image = prefix.defined() ? prefix.size(1) : 0, T = tokens.size(1);
  auto positions = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(dev));
  // Right padding needs no key mask: causal attention keeps real positions from seeing the pads.
  auto mask =
      attention_mask(n_image, 0, n_image + T, n_image + T, options_.image_prefix_bidirectional, {},
                     torch::TensorOptions().dtype(token_embed->weight.dtype()).device(dev));
  return run(prefix, tokens.to(dev), positions.unsqueeze(0), mask, nullptr);
}

torch::Tensor MultimodalLMImpl::forward_from_prefix(const torch::Tensor& prefix,
                                                    const torch::Tensor& tokens,
                                                    const torch::Tensor& lengths) {
  return logits_from(hidden_states_from_prefix(prefix, tokens, lengths));
}

torch::Tensor MultimodalLMImpl::two_ad_prefix(const torch::Tensor& composites,
                                              const torch::Tensor& tiles) {
  const auto& table = tiles.defined() ? tiles : tile_embed;
  if (!table.defined())
    fail("multimodal LM: a two-ad prefix needs a tile embedding (backbone tile_embedding = true)");
  if (composites.dim() != 4 || composites.size(3) % 2 != 0)
    fail("multimodal LM: two-ad composites must be [B, 3, H, 2W], got {}",
         c10::str(composites.sizes()));
  const int64_t B = composites.size(0), W = composites.size(3) / 2;
  // [2B, 3, H, W]: every left half, then every right half, through the encoder in one batch.
  const auto halves = torch::cat({composites.narrow(3, 0, W), composites.narrow(3, W, W)}, 0);
  const auto tokens = image_prefix(halves);  // [2B, N, d]
  const int64_t N = tokens.size(1), d = tokens.size(2);
  return (tokens.view({2, B, N, d}) + table.view({2, 1, 1, d}))
      .permute({1, 0, 2, 3})
      .reshape({B, 2 * N, d});
}

torch::Tensor MultimodalLMImpl::forward(const torch::Tensor& images, const torch::Tensor& tokens,
                                        const torch::Tensor& lengths,
                                        torch::Tensor* vision_tokens) {
  return logits_from(hidden_states(images, tokens, lengths, vision_tokens));
}

torch::Tensor MultimodalLMImpl::token_logprobs(const torch::Tensor& images,
                                               const torch::Tensor& tokens,
                                               const torch::Tensor& lengths) {
  auto logits = forward(images, tokens, lengths);
  const auto dev = logits.device();
  const int64_t T = tokens.size(1);
  auto targets = tokens.to(dev).slice(1, 1).unsqueeze(-1);
  auto next = torch::log_softmax(logits.slice(1, 0, T - 1), -1).gather(2, targets).squeeze(-1);
  auto out = torch::cat({torch::zeros({tokens.size(0), 1}, next.options()), next}, 1);
  auto index = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(dev));
  auto padded = index.unsqueeze(0) >= lengths.to(dev).unsqueeze(1);
  return out.masked_fill(padded, 0.0);
}

namespace {

// Decoding runs many operators on a handful of rows each: at two intra-op threads cached sampling
// was 8-15% slower than at one (BM_Generate), each operator paying to wake the second thread
// more than it gains from it. Restores the caller's count.
struct OneIntraOpThread {
  OneIntraOpThread() : previous(at::get_num_threads()) {
    if (previous != 1) at::set_num_threads(1);
  }
  ~OneIntraOpThread() {
    if (previous != 1) at::set_num_threads(previous);
  }
  OneIntraOpThread(const OneIntraOpThread&) = delete;
  OneIntraOpThread& operator=(const OneIntraOpThread&) = delete;
  int previous;
};

}  // namespace

GenerateResult MultimodalLMImpl::generate(const torch::Tensor& images,
                                          const std::vector<std::vector<int64_t>>& prompts,
                                          const GenerateOptions& o, uint64_t seed) {
  GenerateResult result;
  const int64_t B = static_cast<int64_t>(prompts.size());
  if (B == 0) return result;
  if (o.max_new_tokens < 0)
    fail("generate: max_new_tokens must be >= 0 (got {})", o.max_new_tokens);
  if (o.top_k < 0) fail("generate: top_k must be >= 0 (got {})", o.top_k);
  if (!(o.top_p > 0.0 && o.top_p <= 1.0))
    fail("generate: top_p must be in (0, 1] (got {})", o.top_p);
  int64_t P = 0;
  for (size_t b = 0; b < prompts.size(); ++b) {
    if (prompts[b].empty()) fail("generate: prompt {} is empty (start it with <bos>)", b);
    for (int64_t id : prompts[b]) {
      if (id < 0 || id >= vocab_.size)
        fail("generate: prompt {} has id {} outside the vocabulary", b, id);
    }
    P = std::max<int64_t>(P, static_cast<int64_t>(prompts[b].size()));
  }
  if (P + o.max_new_tokens > options_.max_text_len) {
    fail("generate: longest prompt ({}) + max_new_tokens ({}) exceeds max_text_len ({})", P,
         o.max_new_tokens, options_.max_text_len);
  }
  if (images.defined() && (images.dim() != 4 || images.size(0) != B)) {
    fail("generate: images must be [B = {}, 3, H, W], got {}", B, c10::str(images.sizes()));
  }

  torch::NoGradGuard no_grad;
  EvalScope eval(*this);
  OneIntraOpThread one_thread;
  const auto dev = device();
  const auto long_cpu = torch::TensorOptions().dtype(torch::kLong);
  const auto mask_options = torch::TensorOptions().dtype(token_embed->weight.dtype()).device(dev);

  // Left padding: every row's last prompt token sits in column P - 1, so one new column per step
  // serves all rows. Positions count from each row's first real token; pad keys are masked.
  const int64_t total = P + o.max_new_tokens;
  std::vector<int64_t> prompt_ids(static_cast<size_t>(B * P), vocab_.pad_id);
  std::vector<int64_t> position_ids(static_cast<size_t>(B * total), 0);
  std::vector<uint8_t> key_valid(static_cast<size_t>(B * total), 1);
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[static_cast<size_t>(b)];
    const int64_t pad = P - static_cast<int64_t>(p.size());
    std::copy(p.begin(), p.end(), prompt_ids.begin() + b * P + pad);
    for (int64_t c = 0; c < total; ++c) {
      position_ids[static_cast<size_t>(b * total + c)] = std::max<int64_t>(0, c - pad);
      key_valid[static_cast<size_t>(b * total + c)] = c >= pad;
    }
  }
  auto tokens = torch::tensor(prompt_ids, long_cpu).view({B, P}).to(dev);
  auto positions = torch::tensor(position_ids, long_cpu).view({B, total}).to(dev);
  auto valid = torch::tensor(key_valid, torch::TensorOptions().dtype(torch::kUInt8))
                   .view({B, total})
                   .to(dev, torch::kBool);

  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto prefix = image_prefix(images);
  const int64_t N = prefix.defined() ? prefix.size(1) : 0;
  const bool bidir = options_.image_prefix_bidirectional;
  std::vector<KVCache> caches(blocks->size());
  for (auto& c : caches) c.reserve = N + total;
  std::vector<KVCache>* cache_ptr = o.use_cache ? &caches : nullptr;

  auto mask = attention_mask(N, 0, N + P, N + P, bidir, valid.slice(1, 0, P), mask_options);
  auto last = run(prefix, tokens, positions.slice(1, 0, P), mask, cache_ptr).select(1, P - 1);

  result.tokens.resize(static_cast<size_t>(B));
  result.token_logprobs.resize(static_cast<size_t>(B));
  result.logprob.assign(static_cast<size_t>(B), 0.0);
  result.finished.assign(static_cast<size_t>(B), false);
  int64_t open_rows = B;
  for (int64_t step = 0; step < o.max_new_tokens && open_rows > 0; ++step) {
    auto logits = logits_from(last);
    auto next = choose_next(logits, o, gen);
    auto lp = torch::log_softmax(logits, -1).gather(1, next.unsqueeze(1)).squeeze(1);
    auto next_cpu = next.to(torch::kCPU), lp_cpu = lp.to(torch::kCPU, torch::kFloat64);
    const auto* next_ids = next_cpu.data_ptr<int64_t>();
    const auto* lps = lp_cpu.data_ptr<double>();
    for (size_t b = 0; b < static_cast<size_t>(B); ++b) {
      if (result.finished[b]) continue;
      result.token_logprobs[b].push_back(lps[b]);
      result.logprob[b] += lps[b];
      if (next_ids[b] == vocab_.eos_id) {
        result.finished[b] = true;
        --open_rows;
      } else {
        result.tokens[b].push_back(next_ids[b]);
      }
    }
    if (open_rows == 0 || step + 1 == o.max_new_tokens) break;

    // Feed the new column (finished rows too: their outputs are ignored from now on).
    const int64_t col = P + step;
    auto column = next.unsqueeze(1);
    if (o.use_cache) {
      mask = attention_mask(N, N + col, 1, N + col + 1, bidir, valid.slice(1, 0, col + 1),
                            mask_options);
      last = run({}, column, positions.slice(1, col, col + 1), mask, &caches).select(1, 0);
    } else {
      tokens = torch::cat({tokens, column}, 1);
      mask = attention_mask(N, 0, N + col + 1, N + col + 1, bidir, valid.slice(1, 0, col + 1),
                            mask_options);
      last = run(prefix, tokens, positions.slice(1, 0, col + 1), mask, nullptr).select(1, col);
    }
  }
  return result;
}

torch::Tensor sequence_logprob(const torch::Tensor& token_logprobs,
                               const torch::Tensor& target_mask) {
  if (token_logprobs.sizes() != target_mask.sizes()) {
    fail("sequence_logprob: token_logprobs {} and target_mask {} differ in shape",
         c10::str(token_logprobs.sizes()), c10::str(target_mask.sizes()));
  }
  return (token_logprobs * target_mask.to(token_logprobs.options())).sum(1);
}

torch::Tensor last_token_states(const torch::Tensor& hidden, const torch::Tensor& lengths) {
  if (hidden.dim() != 3 || lengths.dim() != 1 || lengths.size(0) != hidden.size(0)) {
    fail("last_token_states: expected hidden [B, T, d] and lengths [B], got {} and {}",
         c10::str(hidden.sizes()), c10::str(lengths.sizes()));
  }
  auto index = (lengths.to(hidden.device(), torch::kLong) - 1).clamp(0, hidden.size(1) - 1);
  return hidden.gather(1, index.view({-1, 1, 1}).expand({hidden.size(0), 1, hidden.size(2)}))
      .squeeze(1);
}

torch::Tensor attention_mask(int64_t n_image, int64_t q0, int64_t lq, int64_t lk,
                             bool image_bidirectional, const torch::Tensor& text_key_valid,
                             const torch::TensorOptions& options) {
  const auto index = torch::TensorOptions().dtype(torch::kLong).device(options.device());
  auto q = torch::arange(q0, q0 + lq, index).unsqueeze(1);
  auto k = torch::arange(lk, index).unsqueeze(0);
  auto allowed = k <= q;
  if (image_bidirectional && n_image > 0) allowed = allowed | ((q < n_image) & (k < n_image));
  allowed = allowed.view({1, 1, lq, lk});
  if (text_key_valid.defined()) {
    const int64_t B = text_key_valid.size(0);
    if (text_key_valid.dim() != 2 || text_key_valid.size(1) != lk - n_image) {
      fail("attention_mask: text_key_valid must be [B, {}], got {}", lk - n_image,
           c10::str(text_key_valid.sizes()));
    }
    auto key_valid = text_key_valid.to(options.device(), torch::kBool);
    if (n_image > 0) {
      key_valid = torch::cat({torch::ones({B, n_image}, key_valid.options()), key_valid}, 1);
    }
    allowed = allowed & (key_valid.view({B, 1, 1, lk}) | (k == q).view({1, 1, lq, lk}));
  }
  return torch::zeros(allowed.sizes(), options)
      .masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
}

}  // namespace caig::backbone
