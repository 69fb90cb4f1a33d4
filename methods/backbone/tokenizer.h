// Word-level tokenizer over ShopWorld's vocabulary plus special and task tokens. Torch-free, so
// data preparation and reports can use it without LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace caig::backbone {

// Special tokens, always the first ids, in this order.
inline constexpr std::string_view kPad = "<pad>";
inline constexpr std::string_view kBos = "<bos>";
inline constexpr std::string_view kEos = "<eos>";
inline constexpr std::string_view kUnk = "<unk>";
inline constexpr std::string_view kImage = "<image>";

// Task tokens tell the one model which task a sequence is. Add a task here and to task_tokens();
// checkpoints carry their own tokenizer, so saved models keep their ids.
inline constexpr std::string_view kTaskDescribe = "<describe>";      // ad image -> descriptions
inline constexpr std::string_view kTaskBackground = "<background>";  // product -> background
inline constexpr std::string_view kTaskTitle = "<title>";            // product -> title
inline constexpr std::string_view kTaskPrompt = "<prompt>";  // product info -> designer prompt
inline constexpr std::string_view kTaskJudge = "<judge>";    // reward model input
const std::vector<std::string_view>& task_tokens();

// The sizes and ids a model needs to know about its vocabulary.
struct VocabInfo {
  int64_t size = 0;
  int64_t pad_id = 0;
  int64_t bos_id = 1;
  int64_t eos_id = 2;
};

class Tokenizer {
 public:
  // Specials and task tokens, then `words` in order (duplicates and specials skipped).
  explicit Tokenizer(const std::vector<std::string>& words);

  // Tokenizer(world_vocabulary_words()).
  static Tokenizer from_world_vocabulary();

  // Words as split by caig::world::split_words; a decimal point between digits ("4.5") is kept as
  // its own token and a digit run is split into single digits, so any rating encodes. Unknown words
  // become <unk> and are added to *unknown when given. No <bos>/<eos> is added.
  std::vector<int64_t> encode(std::string_view text, int64_t* unknown = nullptr) const;
  // Space-joined tokens. With skip_special, pad, bos, eos, image and task tokens are dropped but
  // <unk> is kept, so a parser still reports it. An id out of range is a caig::Error.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const;

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t id(std::string_view token) const;  // caig::Error naming the token when absent
  int64_t id_or_unk(std::string_view token) const;
  bool contains(std::string_view token) const;
  const std::string& token(int64_t id) const;  // caig::Error when out of range
  // Pad, bos, eos, unk, image and the task tokens.
  bool is_special(int64_t id) const { return id >= 0 && id < num_special_; }

  int64_t pad_id() const { return 0; }
  int64_t bos_id() const { return 1; }
  int64_t eos_id() const { return 2; }
  int64_t unk_id() const { return 3; }
  int64_t image_id() const { return 4; }
  VocabInfo vocab_info() const { return {size(), pad_id(), bos_id(), eos_id()}; }

  // {"version": 1, "num_special": n, "tokens": [...]}; from_json checks that the fixed specials
  // sit at their ids and that no token repeats, so a checkpoint never silently changes meaning.
  nlohmann::json to_json() const;
  static Tokenizer from_json(const nlohmann::json& j);

  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  Tokenizer() = default;
  void add(std::string_view token);

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> index_;
  int64_t num_special_ = 0;
};

// Every word ShopWorld can produce in titles, attributes, categories and background descriptions,
// the words of the reward-model instruction, attribute keys, and digits and "." for ratings; in a
// fixed order, without duplicates. Callers needing more words append to it.
std::vector<std::string> world_vocabulary_words();

// The reward model's instruction (DESIGN.md, "CAIG reward model").
inline constexpr std::string_view kJudgeInstruction =
    "Judge whether the left picture or the right picture is more attractive based on the product "
    "caption, the concatenated image and the product attributes";

}  // namespace caig::backbone
