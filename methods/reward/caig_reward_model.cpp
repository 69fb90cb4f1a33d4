#include "methods/reward/caig_reward_model.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/fused_adamw.h"
#include "harness/json_fields.h"
#include "harness/plugins.h"
#include "harness/progress.h"
#include "harness/seeds.h"
#include "harness/trainer.h"
#include "methods/backbone/checkpoint.h"
#include "methods/backbone/tokenizer.h"
#include "methods/pretraining/tasks.h"
#include "methods/register.h"
#include "rewards/ad_set.h"
#include "rewards/losses.h"

namespace caig::reward {

CaigRewardNetImpl::CaigRewardNetImpl(backbone::MultimodalLM lm_, bool tiles_, double tile_std)
    : tiles(tiles_) {
  const int64_t d = lm_->options().d_model;
  const bool pretrained_tiles = lm_->tile_embed.defined();
  lm = register_module("lm", std::move(lm_));
  pair_head = register_module("pair_head", torch::nn::Linear(d, 2));
  point_head = register_module("point_head", torch::nn::Linear(d, 2));
  // A backbone with a tile embedding of its own (pretrained on composites) brings it; otherwise
  // it is new here. The LM's prefix has no positions of its own: the tile embedding is all that
  // tells the two sides apart, so a new one starts large enough to (tile_std: its entries' sd).
  if (tiles && !pretrained_tiles)
    tile_embed = register_parameter("tile_embed", torch::randn({2, d}) * tile_std);
}

std::pair<at::Tensor, at::Tensor> CaigRewardNetImpl::forward(const at::Tensor& composites,
                                                             const at::Tensor& tokens,
                                                             const at::Tensor& lengths) {
  at::Tensor states;
  if (!tiles) {
    states = lm->hidden_states(composites, tokens, lengths);
  } else {
    // The backbone's tile embedding where it has one (tile_embed is then undefined).
    states =
        lm->hidden_states_from_prefix(lm->two_ad_prefix(composites, tile_embed), tokens, lengths);
  }
  const auto h = backbone::last_token_states(states, lengths);
  return {pair_head(h), point_head(h)};
}

namespace {

struct Options {
  std::string checkpoint;  // empty: the run's pretrained backbone
  bool pretrained = true;  // false: the same architecture from scratch (ablation)
  int64_t batch_size = 16;
  int64_t eval_batch_size = 64;
  double lr = 3e-4;
  double weight_decay = 0.01;
  int64_t warmup_steps = 20;
  double grad_clip = 1.0;
  double point_weight = 0.5;
  double ctr_scale = 100.0;
  bool tiles = true;              // AnyRes: each ad on the encoder's own positions (see the header)
  double tile_std = 1.0;          // the tile embedding's initial entries' standard deviation
  bool train_both_orders = true;  // every drawn pair in both orders in its batch, label flipped
  double head_lr_scale = 1.0;     // the new heads' (and tile embedding's) lr over the backbone's
  int64_t trace_every = 25;       // steps between the training trace's entries; 0: none

  template <class Self, class F>
  static void fields(Self& o, F&& f) {
    f("checkpoint", o.checkpoint);
    f("pretrained", o.pretrained);
    f("batch_size", o.batch_size);
    f("eval_batch_size", o.eval_batch_size);
    f("lr", o.lr);
    f("weight_decay", o.weight_decay);
    f("warmup_steps", o.warmup_steps);
    f("grad_clip", o.grad_clip);
    f("point_weight", o.point_weight);
    f("ctr_scale", o.ctr_scale);
    f("tiles", o.tiles);
    f("tile_std", o.tile_std);
    f("train_both_orders", o.train_both_orders);
    f("head_lr_scale", o.head_lr_scale);
    f("trace_every", o.trace_every);
  }
  static nlohmann::json defaults() { return fields_to_json(Options{}); }
  static Options from_json(const nlohmann::json& j) {
    Options o;
    fields_from_json(o, j, "reward model caig");
    if (o.batch_size < 1 || o.eval_batch_size < 1)
      fail("caig reward model: batch sizes must be positive");
    if (!(o.head_lr_scale > 0)) fail("caig reward model: head_lr_scale must be positive");
    if (o.trace_every < 0) fail("caig reward model: trace_every must be >= 0");
    return o;
  }
};

class CaigRewardModel : public RewardModel {
 public:
  CaigRewardModel(const nlohmann::json& cfg, const PluginContext& ctx)
      : options_(Options::from_json(cfg)),
        scratch_backbone_(
            ctx.experiment && ctx.experiment->contains("backbone")
                ? backbone::BackboneOptions::from_json(at_path(*ctx.experiment, "backbone"))
                : backbone::BackboneOptions{}),
        tokenizer_(backbone::Tokenizer::from_world_vocabulary()) {}

  bool trainable() const override { return true; }
  bool has_ctr() const override { return true; }
  bool needs_pretrained_backbone() const override {
    return options_.pretrained && options_.checkpoint.empty();
  }
  bool savable() const override { return static_cast<bool>(net_); }
  std::vector<std::filesystem::path> external_files() const override {
    if (!options_.pretrained || options_.checkpoint.empty()) return {};
    const std::filesystem::path ck = options_.checkpoint;
    return {ck / "config.json", ck / "tokenizer.json", ck / "model.pt"};
  }

  // backbone.json (its options), reward_net.json (tiles), tokenizer.json, net.pt (backbone and
  // heads), info.json.
  void save(const std::filesystem::path& dir) const override {
    if (!net_) fail("reward model caig has not been trained; nothing to save");
    write_json_atomic(dir / "backbone.json", net_->lm->options().to_json());
    write_json_atomic(dir / "tokenizer.json", tokenizer_.to_json());
    write_json_atomic(dir / "info.json", info_);
    // The network's shape beside the backbone's (info_ is only complete after training).
    write_json_atomic(dir / "reward_net.json", {{"tiles", net_->tiles}});
    torch::serialize::OutputArchive archive;
    net_->save(archive);
    archive.save_to((dir / "net.pt").string());
  }

  void load(const std::filesystem::path& dir, const std::string& device) override {
    for (const char* f : {"backbone.json", "tokenizer.json", "info.json", "net.pt"})
      if (!std::filesystem::exists(dir / f))
        fail("saved caig reward model {}: no {}", dir.string(), f);
    device_ = device;
    tokenizer_ = backbone::Tokenizer::from_json(read_json(dir / "tokenizer.json"));
    const auto options = backbone::BackboneOptions::from_json(read_json(dir / "backbone.json"));
    info_ = read_json(dir / "info.json");
    // Saved before tiles existed: one composite image.
    const bool tiles = std::filesystem::exists(dir / "reward_net.json") &&
                       read_json(dir / "reward_net.json").value("tiles", false);
    net_ = CaigRewardNet(backbone::MultimodalLM(options, tokenizer_.vocab_info()), tiles, 0.0);
    try {
      torch::serialize::InputArchive archive;
      archive.load_from((dir / "net.pt").string(), torch::Device(device_));
      net_->load(archive);
    } catch (const c10::Error& e) {
      fail("saved caig reward model {}: cannot load net.pt: {}", dir.string(),
           e.what_without_backtrace());
    }
    net_->to(torch::Device(device_));
  }

  void train(TrainContext& ctx) override {
    device_ = ctx.device;
    build(ctx);
    const TrainingSet& t = ctx.train;
    if (t.pairs.empty()) fail("caig reward model: the training set has no pairs");
    // Group 0: the pretrained backbone; group 1: what is new (the heads, the tile embedding).
    std::vector<torch::Tensor> backbone_params = net_->lm->parameters(), new_params;
    for (const auto& p : net_->named_parameters(true))
      if (p.key().rfind("lm.", 0) != 0) new_params.push_back(p.value());
    const auto adamw = torch::optim::AdamWOptions(options_.lr).weight_decay(options_.weight_decay);
    FusedAdamW opt({torch::optim::OptimizerParamGroup(
                        backbone_params, std::make_unique<torch::optim::AdamWOptions>(adamw)),
                    torch::optim::OptimizerParamGroup(
                        new_params, std::make_unique<torch::optim::AdamWOptions>(adamw))},
                   adamw);
    net_->train();
    TrainerOptions topt;
    topt.group_lr_scale = {1.0, options_.head_lr_scale};
    topt.batch_size = options_.batch_size;
    topt.lr = options_.lr;
    topt.warmup_steps = options_.warmup_steps;
    topt.grad_clip = options_.grad_clip;
    topt.label = "training caig reward model";
    topt.probe = ctx.probe;
    PairTask task(*this, t, derive_seed(ctx.seed, "sides"));
    task.backbone_params = backbone_params;
    task.new_params = new_params;
    Trainer trainer(topt, ctx.meter, derive_seed(ctx.seed, "batches"));
    trainer.run(task, net_->parameters(), opt);
    info_ = {{"steps", trainer.step()},
             {"tiles", options_.tiles},
             {"trace", task.trace},
             {"last_loss", task.last_loss.defined() ? task.last_loss.item<double>() : 0.0},
             {"parameters", parameter_count()},
             {"pretrained", options_.pretrained},
             // A path inside the run would make two runs' metrics differ by their directories.
             {"checkpoint", !options_.pretrained          ? "none (from scratch)"
                            : options_.checkpoint.empty() ? "the run's pretrained backbone"
                                                          : options_.checkpoint},
             {"input", "composite left|right image + <bos> title attributes <judge>"}};
  }

  std::vector<double> prob_left(const AdSet& ads, const std::vector<PairIndex>& pairs) override {
    std::vector<double> p;
    score(ads, pairs, [&](const at::Tensor& logits, const at::Tensor&) {
      const auto v =
          torch::softmax(logits.to(torch::kDouble), 1).select(1, 0).to(torch::kCPU).contiguous();
      p.insert(p.end(), v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
    });
    return p;
  }

  // The point branch on the ad paired with itself (mean of the two slots).
  std::vector<double> ctr(const AdSet& ads) override {
    std::vector<PairIndex> self;
    for (int64_t i = 0; i < ads.size(); ++i) self.push_back({i, i});
    std::vector<double> c;
    score(ads, self, [&](const at::Tensor&, const at::Tensor& point) {
      const auto v = (point.to(torch::kDouble).mean(1) / options_.ctr_scale)
                         .clamp(0.0, 1.0)
                         .to(torch::kCPU)
                         .contiguous();
      c.insert(c.end(), v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
    });
    return c;
  }

  nlohmann::json info() const override { return info_; }

 private:
  // The trainer's view of the pairs: an epoch is every training pair once; each draw puts the
  // better ad left or right by a coin that is a pure function of (seed, epoch, pair), or with
  // train_both_orders shows the pair both ways (label flipped), so that answering one side for
  // every pair cannot lower the loss.
  struct PairTask : TrainTask {
    CaigRewardModel& m;
    const TrainingSet& t;
    uint64_t sides_seed;
    torch::Tensor smoothed, loss, last_loss;
    std::optional<double> step_total;  // the step's loss over all ranks (data parallelism)
    // The training trace (why a model collapses): losses, the spread of P(left) in the batch and
    // the gradient norms (after clipping) of the backbone and of the new parameters.
    std::vector<torch::Tensor> backbone_params, new_params;
    nlohmann::json trace = nlohmann::json::array();
    nlohmann::json pending;
    PairTask(CaigRewardModel& model, const TrainingSet& train, uint64_t seed)
        : m(model), t(train), sides_seed(seed) {
      smoothed = rewards::smoothed_ctr(torch::tensor(t.clicks), torch::tensor(t.impressions));
    }
    int64_t epoch_size() const override { return static_cast<int64_t>(t.pairs.size()); }
    int64_t prepare(int64_t step, const std::vector<Draw>& draws, int64_t) override {
      const auto smoothed_a = smoothed.accessor<float, 1>();
      std::vector<PairIndex> pairs;
      std::vector<int64_t> labels;
      for (const auto& draw : draws) {
        const auto idx = static_cast<size_t>(draw.example);
        PairIndex pr = t.pairs[idx];
        int label = t.labels[idx];
        if (m.options_.train_both_orders) {
          pairs.push_back(pr);
          labels.push_back(label);
          pairs.push_back({pr.right, pr.left});
          labels.push_back(1 - label);
          continue;
        }
        Rng coin(derive_seed(derive_seed(sides_seed, static_cast<uint64_t>(draw.epoch)),
                             static_cast<uint64_t>(idx)));
        if (coin.bernoulli(0.5)) {
          std::swap(pr.left, pr.right);
          label = 1 - label;
        }
        pairs.push_back(pr);
        labels.push_back(label);
      }
      auto target = torch::empty({static_cast<int64_t>(pairs.size()), 2});
      for (size_t i = 0; i < pairs.size(); ++i) {
        target[static_cast<int64_t>(i)][0] = smoothed_a[pairs[i].left] * m.options_.ctr_scale;
        target[static_cast<int64_t>(i)][1] = smoothed_a[pairs[i].right] * m.options_.ctr_scale;
      }
      const auto [logits, point] = m.forward(t.ads, pairs);
      const auto dev = torch::Device(m.device_);
      const auto label_t = torch::tensor(labels).to(dev);
      target = target.to(dev);
      loss = rewards::caig_pair_loss(logits, label_t, point, target, m.options_.point_weight);
      pending = nullptr;
      if (m.options_.trace_every > 0 && step % m.options_.trace_every == 0) {
        torch::NoGradGuard no_grad;
        const auto p_left = torch::softmax(logits.detach(), 1).select(1, 0);
        pending = {
            {"step", step},
            {"loss", loss.item<double>()},
            {"ce", rewards::caig_pair_loss(logits.detach(), label_t, point.detach(), target, 0.0)
                       .item<double>()},
            {"mse", (point.detach() - target).pow(2).mean().item<double>()},
            {"p_left_sd", p_left.numel() > 1 ? p_left.std().item<double>() : 0.0}};
      }
      // A pair counts its two ads once per order it is shown in.
      return 2 * static_cast<int64_t>(pairs.size());
    }
    torch::Tensor shard_loss(int64_t) override { return loss; }
    // Data parallelism: the loss and the trace's losses are means over this rank's pairs; their
    // shares add up to the whole step's (the trace's p_left_sd stays rank 0's part's).
    std::vector<double> step_shares() const override {
      const double share = rank_part().share;
      std::vector<double> s{loss.item<double>() * share};
      if (!pending.is_null())
        for (const char* k : {"loss", "ce", "mse"})
          s.push_back(pending.at(k).get<double>() * share);
      return s;
    }
    void use_step_totals(const std::vector<double>& totals) override {
      step_total = totals.at(0);
      if (!pending.is_null()) {
        size_t i = 1;
        for (const char* k : {"loss", "ce", "mse"}) pending[k] = totals.at(i++);
      }
    }
    static double grad_norm(const std::vector<torch::Tensor>& params) {
      double sq = 0;
      for (const auto& p : params)
        if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
      return std::sqrt(sq);
    }
    void after_step(int64_t) override {
      last_loss = step_total ? torch::tensor(*step_total) : loss.detach();
      step_total.reset();
      if (pending.is_null()) return;
      pending["grad_norm_backbone"] = grad_norm(backbone_params);
      pending["grad_norm_new"] = grad_norm(new_params);
      trace.push_back(std::move(pending));
      pending = nullptr;
    }
    void after_probe() override { m.net_->train(); }  // score() left it in eval mode
  };

  void build(const TrainContext& ctx) {
    torch::manual_seed(derive_seed(ctx.seed, "init"));
    backbone::MultimodalLM lm{nullptr};
    if (options_.pretrained) {
      checkpoint_ = options_.checkpoint.empty() ? ctx.pretrained_checkpoint
                                                : std::filesystem::path(options_.checkpoint);
      if (checkpoint_.empty())
        fail(
            "reward model caig: no pretrained backbone; run the pretrain stage first, set "
            "reward_models.caig.checkpoint, or set reward_models.caig.pretrained = false");
      auto ck = backbone::load_checkpoint(checkpoint_, torch::Device(device_));
      lm = ck.model;
      tokenizer_ = ck.tokenizer;
    } else {
      lm = backbone::MultimodalLM(scratch_backbone_, tokenizer_.vocab_info());
    }
    net_ = CaigRewardNet(lm, options_.tiles, options_.tile_std);
    net_->to(torch::Device(device_));
  }

  // Token rows "<bos> title attributes <judge>" of each pair's product (the left ad's fields: both
  // ads of a pair show the same product).
  std::pair<at::Tensor, at::Tensor> text(const AdSet& ads,
                                         const std::vector<PairIndex>& pairs) const {
    std::vector<std::vector<int64_t>> rows;
    size_t longest = 0;
    const int64_t judge = tokenizer_.id(backbone::kTaskJudge);
    for (const auto& pr : pairs) {
      const AdInfo& a = ads.ads.at(static_cast<size_t>(pr.left));
      data::CreativeRecord c;
      c.title = a.title;
      c.attributes = a.attributes;
      std::vector<int64_t> ids = {tokenizer_.bos_id()};
      for (int64_t id : pretraining::product_context(tokenizer_, c)) ids.push_back(id);
      const auto max_len = static_cast<size_t>(net_->lm->options().max_text_len);
      if (ids.size() + 1 > max_len) ids.resize(max_len - 1);  // keep room for <judge>
      ids.push_back(judge);
      longest = std::max(longest, ids.size());
      rows.push_back(std::move(ids));
    }
    auto tokens = torch::full({static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest)},
                              tokenizer_.pad_id(), torch::kLong);
    auto lengths = torch::empty({static_cast<int64_t>(rows.size())}, torch::kLong);
    for (size_t i = 0; i < rows.size(); ++i) {
      for (size_t j = 0; j < rows[i].size(); ++j)
        tokens[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = rows[i][j];
      lengths[static_cast<int64_t>(i)] = static_cast<int64_t>(rows[i].size());
    }
    const auto dev = torch::Device(device_);
    return {tokens.to(dev), lengths.to(dev)};
  }

  std::pair<at::Tensor, at::Tensor> forward(const AdSet& ads, const std::vector<PairIndex>& pairs) {
    const auto [tokens, lengths] = text(ads, pairs);
    return net_->forward(rewards::composite_images(ads.images, pairs, device_), tokens, lengths);
  }

  template <class Sink>
  void score(const AdSet& ads, const std::vector<PairIndex>& pairs, Sink sink) {
    if (!net_) fail("reward model caig has not been trained (train() loads the backbone)");
    torch::NoGradGuard no_grad;
    net_->eval();
    const auto n = static_cast<int64_t>(pairs.size());
    for (int64_t start = 0; start < n; start += options_.eval_batch_size) {
      const std::vector<PairIndex> chunk(
          pairs.begin() + start, pairs.begin() + std::min(n, start + options_.eval_batch_size));
      const auto [logits, point] = forward(ads, chunk);
      sink(logits, point);
    }
  }

  int64_t parameter_count() const {
    int64_t n = 0;
    for (const auto& p : net_->parameters()) n += p.numel();
    return n;
  }

  Options options_;
  backbone::BackboneOptions scratch_backbone_;
  backbone::Tokenizer tokenizer_;
  std::string device_ = "cpu";
  std::filesystem::path checkpoint_;
  CaigRewardNet net_{nullptr};
  nlohmann::json info_ = nlohmann::json::object();
};

}  // namespace
}  // namespace caig::reward

namespace caig::methods {

void register_caig_reward_model(Plugins& p) {
  p.reward_models.add("caig",
                      "CAIG's reward model (paper section 4): pretrained backbone over the two ads "
                      "side by side + caption and attributes; pair head CE + 0.5 point-branch MSE",
                      reward::Options::defaults(),
                      [](const nlohmann::json& cfg, const PluginContext& ctx) {
                        return std::make_unique<reward::CaigRewardModel>(cfg, ctx);
                      });
}

}  // namespace caig::methods
