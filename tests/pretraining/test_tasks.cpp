#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "datasets/shopworld/shopworld.h"
#include "harness/error.h"
#include "harness/progress.h"
#include "methods/backbone/tokenizer.h"
#include "methods/pretraining/tasks.h"

using namespace caig;
using namespace caig::pretraining;

namespace {

const data::Dataset& tiny_world(const std::string& variant = "commercial") {
  static std::map<std::string, data::Dataset> cache;
  auto it = cache.find(variant);
  if (it == cache.end()) {
    set_default_progress_mode(ProgressMode::Quiet);
    world::WorldConfig cfg;
    cfg.products = 40;
    cfg.dataset = variant;
    it = cache.emplace(variant, world::ShopWorld(cfg, 3).generate_history({})).first;
  }
  return it->second;
}

}  // namespace

TEST(PretrainTasks, SequencesFollowTheLayout) {
  const auto tok = backbone::Tokenizer::from_world_vocabulary();
  const auto& d = tiny_world();
  const auto& c = d.creatives[0];
  for (Task task : {Task::Describe, Task::Background, Task::Title, Task::Prompt}) {
    const Example e = make_example(tok, d, 0, task);
    EXPECT_EQ(e.tokens.front(), tok.bos_id());
    EXPECT_EQ(e.tokens.back(), tok.eos_id());
    EXPECT_TRUE(tok.is_special(e.tokens[static_cast<size_t>(e.target_start - 1)]));
    EXPECT_EQ(e.product_image, task == Task::Prompt);
    const std::vector<int64_t> target(e.tokens.begin() + e.target_start, e.tokens.end() - 1);
    switch (task) {
      case Task::Describe:
        EXPECT_EQ(tok.decode(target, false),
                  tok.decode(tok.encode(c.description)) + " <title> " + c.title);
        break;
      case Task::Background:
      case Task::Prompt:
        EXPECT_EQ(tok.decode(target), tok.decode(tok.encode(c.description)));
        EXPECT_EQ(tok.decode(e.prompt()), tok.decode(product_context(tok, c)));
        EXPECT_EQ(e.prompt().size(), product_context(tok, c).size() + 2);  // <bos> ... <task>
        break;
      case Task::Title:
        EXPECT_EQ(tok.decode(target), c.title);
        break;
    }
  }
}

TEST(PretrainTasks, CompositesAreTwoAdsOfOneProductNamedInOrder) {
  const auto tok = backbone::Tokenizer::from_world_vocabulary();
  const auto& d = tiny_world();
  const auto pool = products_with_pairs(d, "train");
  ASSERT_FALSE(pool.empty());
  for (const auto& ads : pool) {
    EXPECT_GE(ads.size(), 2u);
    for (int64_t c : ads) {
      EXPECT_EQ(d.creatives[static_cast<size_t>(c)].split, "train");
      EXPECT_EQ(d.creatives[static_cast<size_t>(c)].product_id,
                d.creatives[static_cast<size_t>(ads[0])].product_id);
    }
  }
  const auto e = make_composite_example(tok, d, pool[0][0], pool[0][1]);
  EXPECT_EQ(e.creative, pool[0][0]);
  EXPECT_EQ(e.right, pool[0][1]);
  EXPECT_EQ(e.target_start, 2);
  EXPECT_EQ(e.tokens[1], tok.id(backbone::kTaskDescribe));
  const std::vector<int64_t> target(e.tokens.begin() + e.target_start, e.tokens.end() - 1);
  EXPECT_EQ(tok.decode(target, false),
            tok.decode(tok.encode(d.creatives[static_cast<size_t>(pool[0][0])].description)) +
                " <title> " +
                tok.decode(tok.encode(d.creatives[static_cast<size_t>(pool[0][1])].description)));
  // A stream over the pool: every product once per pass, two distinct ads of it, a pure function
  // of (first, n, seed) whatever the chunking.
  const auto P = static_cast<int64_t>(pool.size());
  const auto pass = composite_examples(tok, d, pool, 0, P, 9);
  std::set<int64_t> products;
  for (const auto& x : pass) {
    EXPECT_NE(x.creative, x.right);
    EXPECT_EQ(d.creatives[static_cast<size_t>(x.creative)].product_id,
              d.creatives[static_cast<size_t>(x.right)].product_id);
    products.insert(x.creative);
  }
  std::set<std::string> ids;
  for (const auto& x : pass) ids.insert(d.creatives[static_cast<size_t>(x.creative)].product_id);
  EXPECT_EQ(static_cast<int64_t>(ids.size()), P);
  const auto tail = composite_examples(tok, d, pool, 3, 5, 9);
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_EQ(tail[i].creative, pass[3 + i].creative);
    EXPECT_EQ(tail[i].right, pass[3 + i].right);
  }
  EXPECT_THROW(composite_examples(tok, d, {}, 0, 1, 9), Error);
}

TEST(PretrainTasks, NoUnknownWordsInShopWorldText) {
  const auto tok = backbone::Tokenizer::from_world_vocabulary();
  int64_t unknown = 0;
  for (const auto& c : tiny_world().creatives) {
    tok.encode(c.title, &unknown);
    tok.encode(c.description, &unknown);
    tok.encode(attributes_text(c.attributes), &unknown);
  }
  EXPECT_EQ(unknown, 0);
}

TEST(PretrainTasks, MixtureFollowsWeightsAndIsSeeded) {
  const auto tok = backbone::Tokenizer::from_world_vocabulary();
  const auto& d = tiny_world();
  TaskMixture only_prompt;
  only_prompt.weights = {{Task::Prompt, 1.0}, {Task::Describe, 0.0}};
  for (const auto& e : build_examples(tok, d, "train", only_prompt, 1))
    EXPECT_EQ(e.task, Task::Prompt);
  const auto a = build_examples(tok, d, "train", TaskMixture{}, 5);
  const auto b = build_examples(tok, d, "train", TaskMixture{}, 5);
  ASSERT_EQ(a.size(), b.size());
  std::map<Task, int> counts;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].task, b[i].task);
    EXPECT_EQ(d.creatives[static_cast<size_t>(a[i].creative)].split, "train");
    ++counts[a[i].task];
  }
  // Weights 1 : 0.5 : 0.5 : 1 -> describe and prompt each about a third: within four binomial
  // standard errors in one epoch (EachEpochDrawsTheTasksAfresh checks the average over 60).
  const double n = static_cast<double>(a.size());
  const double tolerance = 4 * std::sqrt((1.0 / 3) * (2.0 / 3) / n);
  EXPECT_NEAR(counts[Task::Describe] / n, 1.0 / 3, tolerance);
  EXPECT_NEAR(counts[Task::Prompt] / n, 1.0 / 3, tolerance);
}

TEST(PretrainTasks, EachEpochDrawsTheTasksAfresh) {
  const auto tok = backbone::Tokenizer::from_world_vocabulary();
  const auto& d = tiny_world();
  // Weights 1 : 0.5 : 0.5 : 1: over many epochs every creative serves the prompt task about a
  // third of the time (a task fixed per creative would give each one 0 or 1).
  constexpr int kEpochs = 60;
  std::map<int64_t, int> prompt_epochs;
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    const auto a = build_examples(tok, d, "train", TaskMixture{}, 5, epoch);
    const auto again = build_examples(tok, d, "train", TaskMixture{}, 5, epoch);
    ASSERT_EQ(a.size(), again.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].task, again[i].task);  // a pure function of (seed, epoch)
      EXPECT_EQ(a[i].tokens, again[i].tokens);
      prompt_epochs[a[i].creative] += a[i].task == Task::Prompt;
    }
  }
  ASSERT_FALSE(prompt_epochs.empty());
  double total = 0;
  for (const auto& [creative, n] : prompt_epochs) {
    EXPECT_GT(n, 0) << "creative " << creative << " never served the prompt task";
    EXPECT_LT(n, kEpochs) << "creative " << creative << " always served the prompt task";
    total += n;
  }
  EXPECT_NEAR(total / (kEpochs * static_cast<double>(prompt_epochs.size())), 1.0 / 3, 0.05);
  // Epochs differ from each other.
  const auto e0 = build_examples(tok, d, "train", TaskMixture{}, 5, 0);
  const auto e1 = build_examples(tok, d, "train", TaskMixture{}, 5, 1);
  int differ = 0;
  for (size_t i = 0; i < e0.size(); ++i) differ += e0[i].task != e1[i].task;
  EXPECT_GT(differ, 0);
}

TEST(PretrainTasks, BadInputIsAnError) {
  const auto tok = backbone::Tokenizer::from_world_vocabulary();
  EXPECT_THROW(build_examples(tok, tiny_world("public"), "train", TaskMixture{}, 1), Error);
  EXPECT_THROW(build_examples(tok, tiny_world(), "holdout", TaskMixture{}, 1), Error);
  EXPECT_THROW(task_from_name("summarise"), Error);
  EXPECT_THROW(TaskMixture::from_json({{"describe", -1.0}}), Error);
  EXPECT_THROW(TaskMixture::from_json({{"describe", 0.0}}), Error);
  const auto m = TaskMixture::from_json({{"prompt", 2.0}, {"title", 1}});
  EXPECT_EQ(m.to_json(), (nlohmann::json{{"title", 1.0}, {"prompt", 2.0}}));
}
