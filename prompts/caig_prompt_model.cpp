// The `caig` prompt model: the pretrained multimodal backbone writing a background description
// from the product's cut-out, title and attributes (CAIG's prompt generation task, paper section
// 3), sampled with the KV cache. Its prompt is the pretraining prompt task's, so the pretrained
// model's match rate here equals pretraining's for the same products and seed.
#include <algorithm>

#include <torch/torch.h>

#include "datasets/io/records.h"
#include "harness/error.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "methods/backbone/checkpoint.h"
#include "methods/backbone/multimodal_lm.h"
#include "methods/backbone/tokenizer.h"
#include "methods/pretraining/tasks.h"
#include "prompts/prompt_model.h"
#include "prompts/register.h"

namespace fs = std::filesystem;

namespace caig::prompts {

namespace {

struct Options {
  std::string checkpoint;  // empty: the run's pretrained backbone

  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("checkpoint", o.checkpoint);
  }
};

class CaigPromptModel : public PromptModel {
 public:
  explicit CaigPromptModel(Options o) : opt_(std::move(o)) {}

  bool needs_pretrained_backbone() const override { return opt_.checkpoint.empty(); }
  std::vector<fs::path> external_files() const override {
    if (opt_.checkpoint.empty()) return {};
    return {fs::path(opt_.checkpoint) / "model.pt", fs::path(opt_.checkpoint) / "config.json"};
  }

  void setup(const PromptModelContext& ctx) override {
    const fs::path dir =
        opt_.checkpoint.empty() ? ctx.pretrained_checkpoint : fs::path(opt_.checkpoint);
    if (dir.empty())
      fail(
          "prompt model caig: no checkpoint (set prompt_models.caig.checkpoint, or run the "
          "pretrain stage first)");
    auto ck = backbone::load_checkpoint(dir, torch::Device(ctx.device));
    model_ = ck.model;
    tok_ = std::make_unique<backbone::Tokenizer>(ck.tokenizer);
    source_ = dir.string();
    model_->to(torch::Device(ctx.device));
    model_->eval();
  }

  std::vector<PromptSample> sample(const std::vector<PromptProduct>& products, int64_t per_product,
                                   const SampleOptions& o, uint64_t seed) override {
    check_ready();
    std::vector<size_t> rows;
    for (size_t p = 0; p < products.size(); ++p)
      rows.insert(rows.end(), static_cast<size_t>(per_product), p);
    std::vector<PromptSample> out;
    out.reserve(rows.size());
    const auto batch = static_cast<size_t>(std::max<int64_t>(o.batch_size, 1));
    for (size_t at = 0; at < rows.size(); at += batch) {
      const size_t end = std::min(rows.size(), at + batch);
      std::vector<std::vector<int64_t>> prompts;
      std::vector<torch::Tensor> images;
      for (size_t k = at; k < end; ++k) {
        prompts.push_back(prompt(products[rows[k]]));
        images.push_back(products[rows[k]].image);
      }
      backbone::GenerateOptions g;
      g.temperature = o.temperature;
      g.top_k = o.top_k;
      g.top_p = o.top_p;
      g.max_new_tokens = o.max_new_tokens;
      // The seed of each call, as pretraining's evaluation derives it.
      const auto res = model_->generate(torch::stack(images).to(model_->device()), prompts, g,
                                        derive_seed(seed, "sample" + std::to_string(at)));
      for (size_t k = 0; k < prompts.size(); ++k) {
        PromptSample s;
        s.tokens = res.tokens[k];
        s.text = tok_->decode(s.tokens);
        s.finished = res.finished[k];
        s.logprob = res.logprob[k];
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  bool trainable() const override { return true; }

  at::Tensor sequence_logprobs(const std::vector<const PromptProduct*>& products,
                               const std::vector<const PromptSample*>& samples,
                               at::Tensor* token_counts) override {
    check_ready();
    if (products.size() != samples.size())
      fail("prompt model caig: {} products but {} samples", products.size(), samples.size());
    const auto b = static_cast<int64_t>(products.size());
    std::vector<std::vector<int64_t>> seqs;
    std::vector<int64_t> starts;
    int64_t t = 0;
    for (int64_t i = 0; i < b; ++i) {
      auto ids = prompt(*products[static_cast<size_t>(i)]);
      starts.push_back(static_cast<int64_t>(ids.size()));
      const auto& s = *samples[static_cast<size_t>(i)];
      if (s.tokens.empty() && !s.text.empty())
        fail("prompt model caig: sample '{}' has no token ids", s.text);
      ids.insert(ids.end(), s.tokens.begin(), s.tokens.end());
      if (s.finished) ids.push_back(tok_->eos_id());
      if (static_cast<int64_t>(ids.size()) > model_->options().max_text_len)
        fail(
            "prompt model caig: a prompt and its description take {} tokens, more than "
            "backbone.max_text_len = {}",
            ids.size(), model_->options().max_text_len);
      t = std::max<int64_t>(t, static_cast<int64_t>(ids.size()));
      seqs.push_back(std::move(ids));
    }
    auto tokens = torch::full({b, t}, tok_->pad_id(), torch::kLong);
    auto lengths = torch::empty({b}, torch::kLong);
    auto mask = torch::zeros({b, t}, torch::kBool);
    auto counts = torch::empty({b}, torch::kFloat32);
    auto ta = tokens.accessor<int64_t, 2>();
    auto ma = mask.accessor<bool, 2>();
    for (int64_t i = 0; i < b; ++i) {
      const auto& ids = seqs[static_cast<size_t>(i)];
      for (size_t j = 0; j < ids.size(); ++j) {
        ta[i][static_cast<int64_t>(j)] = ids[j];
        ma[i][static_cast<int64_t>(j)] = static_cast<int64_t>(j) >= starts[static_cast<size_t>(i)];
      }
      lengths[i] = static_cast<int64_t>(ids.size());
      counts[i] =
          static_cast<float>(static_cast<int64_t>(ids.size()) - starts[static_cast<size_t>(i)]);
    }
    std::vector<torch::Tensor> images;
    for (const auto* p : products) images.push_back(p->image);
    const auto dev = model_->device();
    const auto lp =
        model_->token_logprobs(torch::stack(images).to(dev), tokens.to(dev), lengths.to(dev));
    if (token_counts) *token_counts = counts.to(dev);
    return backbone::sequence_logprob(lp, mask.to(dev));
  }

  std::vector<at::Tensor> parameters() const override { return model_->parameters(); }

  std::unique_ptr<PromptModel> clone() const override {
    check_ready();
    auto copy = std::make_unique<CaigPromptModel>(opt_);
    copy->tok_ = std::make_unique<backbone::Tokenizer>(*tok_);
    copy->source_ = source_;
    copy->model_ = backbone::MultimodalLM(model_->options(), model_->vocab());
    {
      torch::NoGradGuard no_grad;
      auto to = copy->model_->named_parameters();
      for (const auto& p : model_->named_parameters()) to[p.key()].copy_(p.value());
      auto to_buffers = copy->model_->named_buffers();
      for (const auto& p : model_->named_buffers()) to_buffers[p.key()].copy_(p.value());
    }
    copy->model_->to(model_->device());
    copy->model_->eval();
    return copy;
  }

  int64_t image_patch() const override {
    check_ready();
    return model_->options().patch;
  }
  bool savable() const override { return true; }
  void save(const fs::path& dir) const override {
    check_ready();
    auto m = model_;
    backbone::save_checkpoint(dir, m, *tok_, {{"prompt_model", "caig"}, {"started_from", source_}});
  }

  nlohmann::json info() const override {
    nlohmann::json j = {{"checkpoint", source_}};
    if (model_) {
      int64_t n = 0;
      for (const auto& p : model_->parameters()) n += p.numel();
      j["parameters"] = n;
    }
    return j;
  }

 private:
  void check_ready() const {
    if (!model_) fail("prompt model caig: used before setup()");
  }
  // <bos> title attributes <prompt>: the pretraining prompt task's prompt.
  std::vector<int64_t> prompt(const PromptProduct& p) const {
    data::CreativeRecord c;
    c.title = p.title;
    c.attributes = p.attributes;
    std::vector<int64_t> ids{tok_->bos_id()};
    const auto ctx = pretraining::product_context(*tok_, c);
    ids.insert(ids.end(), ctx.begin(), ctx.end());
    ids.push_back(tok_->id(backbone::kTaskPrompt));
    return ids;
  }

  Options opt_;
  backbone::MultimodalLM model_{nullptr};
  std::unique_ptr<backbone::Tokenizer> tok_;
  std::string source_;
};

}  // namespace

void register_caig_prompt_model(Plugins& p) {
  p.prompt_models.add(
      "caig",
      "CAIG's prompt model: the pretrained multimodal backbone writing a background description "
      "from the product cut-out, title and attributes (trainable; checkpoint empty = the run's "
      "pretrain stage)",
      fields_to_json(Options{}), [](const nlohmann::json& cfg, const PluginContext&) {
        return std::make_unique<CaigPromptModel>(
            fields_from_json<Options>(cfg, "prompt_models.caig"));
      });
}

}  // namespace caig::prompts
