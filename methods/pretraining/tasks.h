// The three e-commerce pretraining tasks of CAIG (paper section 3), built as token sequences from a
// ShopWorld dataset. Torch-free: tensors are made by the trainer.
//
//   describe    (1) image understanding: ad image -> "description <title> title"
//   background  (2) multimodal content understanding: ad image + title + attributes -> the ad's
//                   background description
//   title       (2) multimodal content understanding: ad image + attributes -> title
//   prompt      (3) prompt generation: product cut-out + title + attributes -> the designer's
//                   background description (what the prompt model later writes)
//
// A sequence is <bos> context <task> target <eos>; the loss covers target and <eos>, and a
// generation prompt is everything up to and including the task token.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"
#include "methods/backbone/tokenizer.h"

namespace caig::pretraining {

enum class Task : int { Describe = 0, Background = 1, Title = 2, Prompt = 3 };
inline constexpr int kNumTasks = 4;
const char* task_name(Task t);
Task task_from_name(const std::string& name);  // caig::Error listing the names

struct Example {
  Task task = Task::Describe;
  int64_t creative = 0;         // index into Dataset::creatives (image and truth)
  bool product_image = false;   // the product cut-out instead of the ad
  std::vector<int64_t> tokens;  // the whole sequence
  int64_t target_start = 0;     // first target position; tokens[target_start - 1] is the task token
  int64_t right = -1;           // composite examples: the creative on the right (creative: left)
  std::vector<int64_t> prompt() const { return {tokens.begin(), tokens.begin() + target_start}; }
};

// Relative weights of the tasks in the training mixture (DESIGN: "Task mixture configurable").
struct TaskMixture {
  std::map<Task, double> weights{
      {Task::Describe, 1.0}, {Task::Background, 0.5}, {Task::Title, 0.5}, {Task::Prompt, 1.0}};
  nlohmann::json to_json() const;
  static TaskMixture from_json(const nlohmann::json& j);  // keys are task names
};

// Text pieces, shared with evaluation and with the prompt model.
std::string attributes_text(const nlohmann::json& attributes);  // "colour red material leather ..."
std::vector<int64_t> product_context(const backbone::Tokenizer& tok, const data::CreativeRecord& c);

// One example of `task` for creative `index`.
Example make_example(const backbone::Tokenizer& tok, const data::Dataset& d, int64_t index,
                     Task task);

// The examples of one epoch: for every creative of `split`, one task drawn from the mixture with
// an RNG seeded by (seed, epoch, creative), so an epoch visits each creative once and, over epochs,
// every creative serves every task in proportion to the mixture (a task fixed per creative would
// show the prompt task only a quarter of the designers' descriptions, however long the run).
// Needs a dataset with text (commercial); Error otherwise.
std::vector<Example> build_examples(const backbone::Tokenizer& tok, const data::Dataset& d,
                                    const std::string& split, const TaskMixture& mixture,
                                    uint64_t seed, int64_t epoch = 0);

// The first creative of each of at most n distinct products of `split`, in the seeded order in
// which pretraining's evaluation samples descriptions (the creatives of the split permuted by
// derive_seed(seed, "products"), each product where it first appears): the optimisation loop
// measures its prompt models on the same products. n <= 0: every product.
std::vector<int64_t> distinct_product_creatives(const data::Dataset& d, const std::string& split,
                                                int64_t n, uint64_t seed);

// The composite task (reading two ads side by side before the reward model has to judge them):
// two ads of one product as a side-by-side pair, read through the backbone's tile embedding,
// "<bos> <describe> left background <title> right background <eos>". The target names both
// sides in order, so the LM must tell them apart.
Example make_composite_example(const backbone::Tokenizer& tok, const data::Dataset& d, int64_t left,
                               int64_t right);

// The creatives of each product of `split` that has two or more (the composite task's pool), in
// the order the products first appear.
std::vector<std::vector<int64_t>> products_with_pairs(const data::Dataset& d,
                                                      const std::string& split);

// The composite examples k = first .. first + n - 1 of a stream over `pool`: product k % P of
// a permutation drawn per pass (seed, k / P), two distinct creatives of it in an order drawn
// from (seed, k). A pure function of its arguments.
std::vector<Example> composite_examples(const backbone::Tokenizer& tok, const data::Dataset& d,
                                        const std::vector<std::vector<int64_t>>& pool,
                                        int64_t first, int64_t n, uint64_t seed);

// Every task for every creative of `split` (evaluation sets: one list per task).
std::vector<Example> build_task_examples(const backbone::Tokenizer& tok, const data::Dataset& d,
                                         const std::string& split, Task task);

}  // namespace caig::pretraining
