#include "methods/backbone/tokenizer.h"

#include <cctype>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/grammar.h"
#include "datasets/shopworld/vocabulary.h"
#include "harness/error.h"

namespace caig::backbone {

namespace {

const std::vector<std::string_view> kFixedSpecials = {kPad, kBos, kEos, kUnk, kImage};

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Appends the words of `text` to `out`: digit runs become single digits, and a '.' between two
// digits becomes its own "." word (split_words would drop it).
void append_words(std::string_view text, std::vector<std::string>& out) {
  auto push_chunk = [&out](std::string_view chunk) {
    for (auto& w : world::split_words(chunk)) {
      bool all_digits = !w.empty();
      for (char c : w) all_digits = all_digits && is_digit(c);
      if (all_digits && w.size() > 1) {
        for (char c : w) out.emplace_back(1, c);
      } else {
        out.push_back(std::move(w));
      }
    }
  };
  size_t start = 0;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '.' && is_digit(text[i - 1]) && is_digit(text[i + 1])) {
      push_chunk(text.substr(start, i - start));
      out.emplace_back(".");
      start = i + 1;
    }
  }
  push_chunk(text.substr(start));
}

}  // namespace

const std::vector<std::string_view>& task_tokens() {
  static const std::vector<std::string_view> kTasks = {kTaskDescribe, kTaskBackground, kTaskTitle,
                                                       kTaskPrompt, kTaskJudge};
  return kTasks;
}

std::vector<std::string> world_vocabulary_words() {
  std::vector<std::string> words;
  std::unordered_set<std::string> seen;
  auto add_text = [&](std::string_view text) {
    std::vector<std::string> split;
    append_words(text, split);
    for (auto& w : split) {
      if (seen.insert(w).second) words.push_back(std::move(w));
    }
  };
  for (world::Slot slot : world::all_slots()) {
    for (const auto& phrase : world::slot_phrases(slot)) add_text(phrase);
  }
  for (const auto& w : world::filler_words()) add_text(w);
  for (const auto& c : world::categories()) {
    add_text(c.name);
    add_text(c.group);
  }
  for (const auto* names :
       {&world::colour_names(), &world::material_names(), &world::audience_names(),
        &world::price_tier_names(), &world::brand_tier_names()}) {
    for (const auto& n : *names) add_text(n);
  }
  add_text("for");  // titles: "premium red leather running shoe for women"
  add_text(kJudgeInstruction);
  // Attribute keys as split_words splits the manifest's keys (price_tier -> price tier), and the
  // field names task prompts may spell out.
  add_text("colour material audience price tier brand rating category title description");
  for (char d = '0'; d <= '9'; ++d) add_text(std::string(1, d));
  if (seen.insert(".").second) words.emplace_back(".");
  return words;
}

Tokenizer::Tokenizer(const std::vector<std::string>& words) {
  for (auto s : kFixedSpecials) add(s);
  for (auto s : task_tokens()) add(s);
  num_special_ = size();
  for (const auto& w : words) {
    if (!contains(w)) add(w);
  }
}

Tokenizer Tokenizer::from_world_vocabulary() { return Tokenizer(world_vocabulary_words()); }

void Tokenizer::add(std::string_view token) {
  index_.emplace(std::string(token), size());
  tokens_.emplace_back(token);
}

bool Tokenizer::contains(std::string_view token) const {
  return index_.count(std::string(token)) != 0;
}

int64_t Tokenizer::id(std::string_view token) const {
  auto it = index_.find(std::string(token));
  if (it == index_.end()) fail("tokenizer: no token '{}' in the vocabulary", token);
  return it->second;
}

int64_t Tokenizer::id_or_unk(std::string_view token) const {
  auto it = index_.find(std::string(token));
  return it == index_.end() ? unk_id() : it->second;
}

const std::string& Tokenizer::token(int64_t id) const {
  if (id < 0 || id >= size()) fail("tokenizer: id {} out of range [0, {})", id, size());
  return tokens_[static_cast<size_t>(id)];
}

std::vector<int64_t> Tokenizer::encode(std::string_view text, int64_t* unknown) const {
  std::vector<std::string> words;
  append_words(text, words);
  std::vector<int64_t> ids;
  ids.reserve(words.size());
  for (const auto& w : words) {
    const int64_t i = id_or_unk(w);
    if (i == unk_id() && unknown) ++*unknown;
    ids.push_back(i);
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string out;
  for (int64_t i : ids) {
    const std::string& t = token(i);
    if (skip_special && is_special(i) && i != unk_id()) continue;
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

nlohmann::json Tokenizer::to_json() const {
  return {{"version", 1}, {"num_special", num_special_}, {"tokens", tokens_}};
}

Tokenizer Tokenizer::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("tokens") || !j.contains("num_special")) {
    fail("tokenizer JSON: expected an object with 'tokens' and 'num_special'");
  }
  if (j.value("version", 0) != 1)
    fail("tokenizer JSON: unsupported version {}", j.value("version", 0));
  Tokenizer t;
  try {
    for (const auto& tok : j.at("tokens")) {
      const auto s = tok.get<std::string>();
      if (t.contains(s)) fail("tokenizer JSON: token '{}' appears twice", s);
      t.add(s);
    }
    t.num_special_ = j.at("num_special").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail("tokenizer JSON: {}", e.what());
  }
  for (size_t i = 0; i < kFixedSpecials.size(); ++i) {
    if (t.size() <= static_cast<int64_t>(i) || t.tokens_[i] != kFixedSpecials[i]) {
      fail("tokenizer JSON: token {} must be '{}'", i, kFixedSpecials[i]);
    }
  }
  if (t.num_special_ < static_cast<int64_t>(kFixedSpecials.size()) || t.num_special_ > t.size()) {
    fail("tokenizer JSON: num_special {} out of range", t.num_special_);
  }
  return t;
}

}  // namespace caig::backbone
