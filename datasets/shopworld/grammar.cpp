#include "datasets/shopworld/grammar.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

namespace caig::world {

namespace {

struct PhraseEntry {
  std::vector<std::string> words;
  Slot slot;
  int value;
};

// All phrases, longest first so that "night city" wins over a shorter match.
const std::vector<PhraseEntry>& phrase_table() {
  static const std::vector<PhraseEntry> table = [] {
    std::vector<PhraseEntry> t;
    for (Slot s : all_slots()) {
      const auto& phrases = slot_phrases(s);
      for (int v = 0; v < static_cast<int>(phrases.size()); ++v)
        t.push_back({split_words(phrases[v]), s, v});
    }
    std::stable_sort(t.begin(), t.end(), [](const PhraseEntry& a, const PhraseEntry& b) {
      return a.words.size() > b.words.size();
    });
    return t;
  }();
  return table;
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '\'' || c >= 0x80) {
      cur.push_back(static_cast<char>(std::tolower(c)));
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

ParsedDescription parse_description(std::string_view text) {
  static const std::unordered_set<std::string> fillers(filler_words().begin(), filler_words().end());
  ParsedDescription out;
  int count[kNumSlots] = {0, 0, 0, 0, 0};
  const auto words = split_words(text);
  size_t i = 0;
  while (i < words.size()) {
    const PhraseEntry* hit = nullptr;
    for (const auto& e : phrase_table()) {
      if (i + e.words.size() > words.size()) continue;
      if (std::equal(e.words.begin(), e.words.end(), words.begin() + static_cast<long>(i))) {
        hit = &e;
        break;
      }
    }
    if (hit) {
      const int s = static_cast<int>(hit->slot);
      if (count[s]++ == 0) out.background.set(hit->slot, hit->value);
      else if (count[s] == 2) out.repeated.push_back(hit->slot);
      i += hit->words.size();
    } else {
      if (!fillers.count(words[i])) out.unknown.push_back(words[i]);
      ++i;
    }
  }
  for (Slot s : all_slots())
    if (count[static_cast<int>(s)] == 0) out.missing.push_back(s);
  return out;
}

std::string ParsedDescription::problems() const {
  std::string msg;
  auto list = [&](const char* what, const std::vector<Slot>& slots) {
    if (slots.empty()) return;
    if (!msg.empty()) msg += "; ";
    msg += what;
    for (size_t k = 0; k < slots.size(); ++k) msg += (k ? ", " : " ") + std::string(slot_name(slots[k]));
  };
  list("missing", missing);
  list("repeated", repeated);
  if (!unknown.empty()) {
    if (!msg.empty()) msg += "; ";
    msg += "unknown words";
    for (size_t k = 0; k < unknown.size(); ++k) msg += (k ? ", '" : " '") + unknown[k] + "'";
  }
  return msg;
}

}  // namespace caig::world
