// Prompt-model plugins: what writes the background description of a product's ad (DESIGN.md,
// "Background descriptions"). The CTR-driven loop (optimisation/ctr_loop.h) samples from one,
// renders and judges the samples, and trains a trainable one on the judged pairs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace caig {

// A product as a prompt model sees it: its fields and its cut-out (composited on grey). The loop
// builds perturbed copies (masked patches, another product's fields) for PCPO and its kin.
struct PromptProduct {
  std::string product_id;
  std::string category;
  std::string title;
  nlohmann::json attributes = nlohmann::json::object();
  at::Tensor image;  // [3, H, W] float in [0, 1]
};

// One sampled description.
struct PromptSample {
  std::string text;
  std::vector<int64_t>
      tokens;            // the model's token ids, without <eos>; empty for untokenised models
  bool finished = true;  // ended with <eos> (its log-prob then includes that term)
  double logprob = 0;    // under the sampling model at temperature 1 (0 where it has none)
};

struct SampleOptions {
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  int64_t max_new_tokens = 24;
  int64_t batch_size = 32;  // rows per generation call (part of the arithmetic: seeds are per call)
};

// What a prompt model is set up with.
struct PromptModelContext {
  std::filesystem::path pretrained_checkpoint;  // the run's pretrained backbone (may be empty)
  std::string device = "cpu";
  nlohmann::json world;  // the dataset's world.json (null for real data)
};

class PromptModel {
 public:
  virtual ~PromptModel() = default;

  // True when setup() reads the run's pretrained backbone, so a stage must read the pretrain
  // stage's checkpoint.
  virtual bool needs_pretrained_backbone() const { return false; }
  virtual std::vector<std::filesystem::path> external_files() const { return {}; }
  // Called once before anything else.
  virtual void setup(const PromptModelContext& ctx) = 0;

  // `per_product` descriptions of every product, product-major (products[0]'s first). A pure
  // function of (products, per_product, options, seed).
  virtual std::vector<PromptSample> sample(const std::vector<PromptProduct>& products,
                                           int64_t per_product, const SampleOptions& options,
                                           uint64_t seed) = 0;

  // --- trainable models only ---
  virtual bool trainable() const { return false; }
  // log p(sample's tokens and, when finished, <eos> | product) per row, [B]: with gradients when
  // grad mode is on. `tokens` receives the target token counts [B] (float) when given.
  virtual at::Tensor sequence_logprobs(const std::vector<const PromptProduct*>& products,
                                       const std::vector<const PromptSample*>& samples,
                                       at::Tensor* tokens = nullptr);
  virtual std::vector<at::Tensor> parameters() const { return {}; }
  // An independent copy with the same weights (the loop's frozen reference).
  virtual std::unique_ptr<PromptModel> clone() const;
  // Patch size of its image encoder (the loop masks whole patches); 0 when it reads no image.
  virtual int64_t image_patch() const { return 0; }
  virtual bool savable() const { return false; }
  virtual void save(const std::filesystem::path& dir) const;

  virtual nlohmann::json info() const { return nlohmann::json::object(); }
};

}  // namespace caig
