// Parser from background-description text to slots, reporting what does not parse.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "datasets/shopworld/vocabulary.h"

namespace caig::world {

struct ParsedDescription {
  Background background;             // first occurrence of each slot; -1 where missing
  std::vector<std::string> unknown;  // words that are neither a slot phrase nor a filler
  std::vector<Slot> repeated;        // slots filled more than once
  std::vector<Slot> missing;         // slots never filled
  // Well formed: every slot parsed exactly once (DESIGN.md, "Background descriptions").
  bool well_formed() const { return repeated.empty() && missing.empty(); }
  std::string problems() const;  // human-readable summary, empty when nothing to report
};

// Lower-cases, splits on whitespace and punctuation, matches the longest slot phrase at each
// position. Word order is free, so "gym scene, bright dynamic ..." parses too.
ParsedDescription parse_description(std::string_view text);

// Splits text into lower-case words, dropping punctuation (shared with tokenizers).
std::vector<std::string> split_words(std::string_view text);

}  // namespace caig::world
