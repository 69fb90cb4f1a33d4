// The `reward_accuracy` stage, the paper's reward-model table: every reward model trained on the
// same pairs and budget per seed, pairwise accuracy on the evaluation pairs. Reads the world
// stage's `data` (or stages.reward_accuracy.data) and, when a listed model starts from the
// pretrained backbone, the pretrain stage's `checkpoint`; writes the trained models it keeps as
// the artifact `models` (<variant>/<model>/seed<s>/, loadable by rewards/saved_model.h).
#include "datasets/io/inspect.h"
#include "datasets/io/shopworld_dir.h"
#include "harness/config.h"
#include "harness/content_hash.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/stage.h"
#include "rewards/benchmark.h"
#include "rewards/reward_model.h"
#include "stages/register.h"
#include "stages/stage_data.h"

namespace fs = std::filesystem;

namespace caig::stages {

namespace {

class RewardAccuracyStage : public Stage {
 public:
  RewardAccuracyStage(nlohmann::json cfg, const nlohmann::json& experiment)
      : cfg_(std::move(cfg)),
        data_(cfg_.at("data").get<std::string>()),
        images_(cfg_.at("images").get<std::string>()) {
    // Fail before any stage runs: unknown models, bad model configs, bad variants.
    rewards::check_reward_model_configs(experiment, "reward_models");
    const auto opt = rewards::BenchmarkOptions::from_config(cfg_, experiment, "cpu");
    for (const auto& name : opt.models) {
      const auto model = rewards::create_reward_model(experiment, name, 0);
      if (model->needs_pretrained_backbone()) backbone_users_.push_back(name);
      for (const auto& f : model->external_files()) external_files_.push_back(f.string());
    }
  }

  std::vector<ArtifactRef> reads() const override {
    std::vector<ArtifactRef> r;
    if (data_.empty())
      r.push_back(
          {"world", "data", "the dataset of the table; or set stages.reward_accuracy.data"});
    if (!backbone_users_.empty())
      r.push_back(
          {"pretrain", "checkpoint",
           "reward model '" + backbone_users_.front() + "' starts from the pretrained backbone"});
    return r;
  }
  std::vector<std::string> writes() const override { return {"models"}; }
  std::vector<std::string> config_keys() const override {
    return {"budget", "reward_models", "backbone", "world.image_size"};
  }
  nlohmann::json external_fingerprint() const override {
    nlohmann::json f = nlohmann::json::object();
    // A file (a real dataset's TSV or JSON) or a directory; its images too.
    auto hash_path = [](const fs::path& p) {
      return fs::is_directory(p) ? hash_bytes(hash_tree(p).dump())
             : fs::exists(p)     ? hash_file(p)
                                 : std::string("missing");
    };
    if (!data_.empty()) {
      f["data"] = hash_path(data_);
      const auto where = data::locate_dataset(data_, images_);
      if (!where.images.empty()) f["images"] = hash_path(where.images);
    }
    for (const auto& file : external_files_)
      f[file] = fs::exists(file) ? hash_file(file) : "missing";
    return f;
  }

  void run(StageContext& ctx) override {
    const fs::path data = data_.empty() ? ctx.input("world", "data") : fs::path(data_);
    const data::Dataset d = load_stage_dataset(data, ctx.experiment(), ctx.seed(),
                                               "stages.reward_accuracy.data", images_);
    auto opt = rewards::BenchmarkOptions::from_config(cfg_, ctx.experiment(), ctx.device());
    opt.image_size = rewards::dataset_image_size(d, ctx.experiment());
    if (ctx.has_input("pretrain", "checkpoint"))
      opt.pretrained_checkpoint = ctx.input("pretrain", "checkpoint");
    opt.save_dir = ctx.output("models");
    fs::create_directories(opt.save_dir);
    auto r = rewards::run_reward_benchmark(d, opt, ctx.experiment(), ctx.seed());
    ctx.metrics = r.metrics;
    for (const auto& [key, spent] : r.budget.items()) ctx.spend(key, spent);
    ctx.records = std::move(r.records);
  }

 private:
  nlohmann::json cfg_;
  std::string data_, images_;
  std::vector<std::string> backbone_users_;  // listed models that need the pretrained backbone
  std::vector<std::string> external_files_;  // files outside the run that models read
};

}  // namespace

void register_reward_accuracy_stage(Plugins& p) {
  add_config_section("reward_models", nlohmann::json::object());  // per-model configs, by name
  p.stages.add("reward_accuracy",
               "the paper's reward-model table: every reward model trained on the same pairs and "
               "budget per seed, pairwise accuracy on test pairs (commercial and public "
               "variants); keeps the trained models (artifact `models`)",
               rewards::BenchmarkOptions::defaults(),
               [](const nlohmann::json& cfg, const PluginContext& ctx) {
                 if (!ctx.experiment) fail("stage reward_accuracy needs the experiment config");
                 return std::make_unique<RewardAccuracyStage>(cfg, *ctx.experiment);
               });
}

}  // namespace caig::stages
