#include "methods/pretraining/tasks.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/seeds.h"
#include "harness/trainer.h"

namespace caig::pretraining {

namespace {
constexpr const char* kNames[kNumTasks] = {"describe", "background", "title", "prompt"};

std::string_view task_token(Task t) {
  switch (t) {
    case Task::Describe:
      return backbone::kTaskDescribe;
    case Task::Background:
      return backbone::kTaskBackground;
    case Task::Title:
      return backbone::kTaskTitle;
    case Task::Prompt:
      return backbone::kTaskPrompt;
  }
  return backbone::kTaskDescribe;
}

void append(std::vector<int64_t>& out, const std::vector<int64_t>& more) {
  out.insert(out.end(), more.begin(), more.end());
}
}  // namespace

const char* task_name(Task t) { return kNames[static_cast<int>(t)]; }

Task task_from_name(const std::string& name) {
  for (int i = 0; i < kNumTasks; ++i)
    if (name == kNames[i]) return static_cast<Task>(i);
  fail("unknown pretraining task '{}'; known: describe, background, title, prompt", name);
}

nlohmann::json TaskMixture::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [t, w] : weights) j[task_name(t)] = w;
  return j;
}

TaskMixture TaskMixture::from_json(const nlohmann::json& j) {
  TaskMixture m;
  m.weights.clear();
  for (const auto& [name, w] : j.items()) {
    if (!w.is_number() || w.get<double>() < 0)
      fail("pretraining task weight '{}' must be a number >= 0, got {}", name, w.dump());
    m.weights[task_from_name(name)] = w.get<double>();
  }
  double total = 0;
  for (const auto& [t, w] : m.weights) total += w;
  if (total <= 0) fail("pretraining task mixture has no positive weight: {}", j.dump());
  return m;
}

std::string attributes_text(const nlohmann::json& a) {
  if (!a.is_object() || a.empty()) return "";
  auto get = [&](const char* key) {
    if (!a.contains(key)) return std::string();
    const auto& v = a[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  return fmt::format("colour {} material {} audience {} price tier {} brand tier {} rating {}",
                     get("colour"), get("material"), get("audience"), get("price_tier"),
                     get("brand_tier"), get("rating"));
}

std::vector<int64_t> product_context(const backbone::Tokenizer& tok,
                                     const data::CreativeRecord& c) {
  auto ids = tok.encode(c.title);
  append(ids, tok.encode(attributes_text(c.attributes)));
  return ids;
}

Example make_example(const backbone::Tokenizer& tok, const data::Dataset& d, int64_t index,
                     Task task) {
  const auto& c = d.creatives.at(static_cast<size_t>(index));
  if (c.title.empty() || c.description.empty())
    fail("pretraining needs titles and descriptions (a `commercial` dataset); creative {} has none",
         c.creative_id);
  Example e;
  e.task = task;
  e.creative = index;
  e.product_image = task == Task::Prompt;
  e.tokens.push_back(tok.bos_id());
  std::vector<int64_t> target;
  switch (task) {
    case Task::Describe:
      // Background first, read from the pixels alone; then the product. (Title first made the
      // scene lean on the generated title's category instead of the image: measured lower.)
      target = tok.encode(c.description);
      target.push_back(tok.id(backbone::kTaskTitle));  // divides background from product
      append(target, tok.encode(c.title));
      break;
    case Task::Background:
    case Task::Prompt:
      append(e.tokens, product_context(tok, c));
      target = tok.encode(c.description);
      break;
    case Task::Title:
      append(e.tokens, tok.encode(attributes_text(c.attributes)));
      target = tok.encode(c.title);
      break;
  }
  e.tokens.push_back(tok.id(task_token(task)));
  e.target_start = static_cast<int64_t>(e.tokens.size());
  append(e.tokens, target);
  e.tokens.push_back(tok.eos_id());
  return e;
}

std::vector<Example> build_examples(const backbone::Tokenizer& tok, const data::Dataset& d,
                                    const std::string& split, const TaskMixture& mixture,
                                    uint64_t seed, int64_t epoch) {
  if (!d.has_text) fail("pretraining needs a dataset with text (commercial), got a text-free one");
  std::vector<Task> tasks;
  std::vector<double> cumulative;
  double total = 0;
  for (const auto& [t, w] : mixture.weights)
    if (w > 0) {
      total += w;
      tasks.push_back(t);
      cumulative.push_back(total);
    }
  const uint64_t epoch_seed = derive_seed(seed, static_cast<uint64_t>(epoch));
  std::vector<Example> out;
  for (size_t i = 0; i < d.creatives.size(); ++i) {
    if (d.creatives[i].split != split) continue;
    Rng rng(derive_seed(epoch_seed, d.creatives[i].creative_id));
    const double u = rng.uniform() * total;
    size_t k = 0;
    while (k + 1 < cumulative.size() && u >= cumulative[k]) ++k;
    out.push_back(make_example(tok, d, static_cast<int64_t>(i), tasks[k]));
  }
  if (out.empty()) fail("no creatives in split '{}' to pretrain on", split);
  return out;
}

std::vector<Example> build_task_examples(const backbone::Tokenizer& tok, const data::Dataset& d,
                                         const std::string& split, Task task) {
  std::vector<Example> out;
  for (size_t i = 0; i < d.creatives.size(); ++i)
    if (d.creatives[i].split == split)
      out.push_back(make_example(tok, d, static_cast<int64_t>(i), task));
  return out;
}

Example make_composite_example(const backbone::Tokenizer& tok, const data::Dataset& d, int64_t left,
                               int64_t right) {
  const auto& l = d.creatives.at(static_cast<size_t>(left));
  const auto& r = d.creatives.at(static_cast<size_t>(right));
  if (l.description.empty() || r.description.empty())
    fail("the composite task needs background descriptions; creative {} or {} has none",
         l.creative_id, r.creative_id);
  Example e;
  e.task = Task::Describe;
  e.creative = left;
  e.right = right;
  e.tokens = {tok.bos_id(), tok.id(backbone::kTaskDescribe)};
  e.target_start = static_cast<int64_t>(e.tokens.size());
  append(e.tokens, tok.encode(l.description));
  e.tokens.push_back(tok.id(backbone::kTaskTitle));  // divides left from right
  append(e.tokens, tok.encode(r.description));
  e.tokens.push_back(tok.eos_id());
  return e;
}

std::vector<std::vector<int64_t>> products_with_pairs(const data::Dataset& d,
                                                      const std::string& split) {
  std::vector<std::vector<int64_t>> out;
  std::map<std::string, size_t> row;
  for (size_t i = 0; i < d.creatives.size(); ++i) {
    const auto& c = d.creatives[i];
    if (c.split != split) continue;
    const auto [it, fresh] = row.emplace(c.product_id, out.size());
    if (fresh) out.emplace_back();
    out[it->second].push_back(static_cast<int64_t>(i));
  }
  std::vector<std::vector<int64_t>> pairs;
  for (auto& list : out)
    if (list.size() >= 2) pairs.push_back(std::move(list));
  return pairs;
}

std::vector<Example> composite_examples(const backbone::Tokenizer& tok, const data::Dataset& d,
                                        const std::vector<std::vector<int64_t>>& pool,
                                        int64_t first, int64_t n, uint64_t seed) {
  if (pool.empty()) fail("the composite task needs products with two ads or more; none here");
  const auto P = static_cast<int64_t>(pool.size());
  std::vector<Example> out;
  int64_t pass = -1;
  std::vector<size_t> order;
  for (int64_t k = first; k < first + n; ++k) {
    if (k / P != pass) {
      pass = k / P;
      order = seeded_permutation(pool.size(), derive_seed(seed, static_cast<uint64_t>(pass)));
    }
    const auto& ads = pool[order[static_cast<size_t>(k % P)]];
    Rng rng(derive_seed(derive_seed(seed, "pick"), static_cast<uint64_t>(k)));
    const auto a = rng.uniform_index(static_cast<int64_t>(ads.size()));
    auto b = rng.uniform_index(static_cast<int64_t>(ads.size()) - 1);
    if (b >= a) ++b;  // distinct from a
    out.push_back(
        make_composite_example(tok, d, ads[static_cast<size_t>(a)], ads[static_cast<size_t>(b)]));
  }
  return out;
}

std::vector<int64_t> distinct_product_creatives(const data::Dataset& d, const std::string& split,
                                                int64_t n, uint64_t seed) {
  std::vector<int64_t> in_split;
  for (size_t i = 0; i < d.creatives.size(); ++i)
    if (d.creatives[i].split == split) in_split.push_back(static_cast<int64_t>(i));
  std::vector<int64_t> out;
  std::set<std::string> seen;
  for (size_t k : seeded_permutation(in_split.size(), derive_seed(seed, "products"))) {
    if (n > 0 && static_cast<int64_t>(out.size()) >= n) break;
    const int64_t c = in_split[k];
    if (seen.insert(d.creatives[static_cast<size_t>(c)].product_id).second) out.push_back(c);
  }
  return out;
}

}  // namespace caig::pretraining
