// Prompt models that need no training, drawn from ShopWorld itself: `template`, the human
// designers' policy of the logged history (a matching scene with probability rho, other slots by
// the category's habits), and `random`, every slot uniform. They are reference arms of the loop:
// what imitation of the designers would reach, and the floor of chance.
#include <memory>

#include "datasets/shopworld/shopworld.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/seeds.h"
#include "prompts/prompt_model.h"
#include "prompts/register.h"

namespace caig::prompts {

namespace {

// The world a dataset was generated from, rebuilt from its world.json.
std::unique_ptr<world::ShopWorld> world_of(const nlohmann::json& j, const std::string& who) {
  if (!j.is_object() || !j.contains("config") || !j.contains("seed"))
    fail("prompt model {} draws from ShopWorld: the dataset has no world.json (real data)", who);
  return std::make_unique<world::ShopWorld>(world::WorldConfig::from_json(j.at("config")),
                                            j.at("seed").get<uint64_t>());
}

const world::Product& product_of(const world::ShopWorld& w, const std::string& id,
                                 const std::string& who) {
  // ShopWorld product ids are "p<index>" (world::product_key).
  if (id.size() < 2 || id[0] != 'p')
    fail("prompt model {}: '{}' is not a ShopWorld product", who, id);
  size_t used = 0;
  int64_t k = -1;
  try {
    k = std::stoll(id.substr(1), &used);
  } catch (const std::exception&) {
  }
  if (used != id.size() - 1 || k < 0 || k >= static_cast<int64_t>(w.products().size()))
    fail("prompt model {}: product '{}' is not in this world", who, id);
  return w.product(k);
}

class WorldPromptModel : public PromptModel {
 public:
  explicit WorldPromptModel(std::string name) : name_(std::move(name)) {}
  void setup(const PromptModelContext& ctx) override { world_ = world_of(ctx.world, name_); }

  std::vector<PromptSample> sample(const std::vector<PromptProduct>& products, int64_t per_product,
                                   const SampleOptions&, uint64_t seed) override {
    if (!world_) fail("prompt model {}: used before setup()", name_);
    std::vector<PromptSample> out;
    for (const auto& pp : products) {
      const auto& p = product_of(*world_, pp.product_id, name_);
      for (int64_t k = 0; k < per_product; ++k) {
        Rng rng(derive_seed(derive_seed(seed, pp.product_id), static_cast<uint64_t>(k)));
        world::Background b;
        if (name_ == "template") {
          b = world_->designer_background(p, rng);
        } else {
          for (world::Slot s : world::all_slots()) b.set(s, rng.uniform_int(world::slot_size(s)));
        }
        PromptSample s;
        s.text = world::describe(b);
        out.push_back(std::move(s));
      }
    }
    return out;
  }
  nlohmann::json info() const override {
    return {{"policy", name_ == "template" ? "ShopWorld's designers (rho)" : "uniform slots"}};
  }

 private:
  std::string name_;
  std::unique_ptr<world::ShopWorld> world_;
};

}  // namespace

void register_world_prompt_models(Plugins& p) {
  p.prompt_models.add("template",
                      "the designers' policy of ShopWorld's logged history, sampled directly "
                      "(a matching scene with probability rho; not trainable)",
                      nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
                        return std::make_unique<WorldPromptModel>("template");
                      });
  p.prompt_models.add("random", "every slot drawn uniformly (not trainable): chance",
                      nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
                        return std::make_unique<WorldPromptModel>("random");
                      });
}

}  // namespace caig::prompts
