// A results table written three ways: Markdown, LaTeX (booktabs) and CSV.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace caig::reports {

struct Table {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::string note;  // printed under the table (e.g. "CTR figures come from the simulator")

  std::string markdown() const;
  std::string latex() const;
  std::string csv() const;
  // Writes <stem>.md, <stem>.tex and <stem>.csv under dir, atomically.
  void write(const std::filesystem::path& dir, const std::string& stem) const;
};

}  // namespace caig::reports
