#include "reports/table.h"

#include <algorithm>

#include "harness/error.h"
#include "harness/files.h"

namespace caig::reports {

namespace {

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        out += '\\';
        out += c;
        break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      default: out += c;
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void check_shape(const Table& t) {
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.rows[i].size() != t.columns.size())
      fail("table '{}': row {} has {} cells for {} columns", t.title, i + 1, t.rows[i].size(),
           t.columns.size());
}

}  // namespace

std::string Table::markdown() const {
  check_shape(*this);
  std::string s;
  if (!title.empty()) s += "**" + title + "**\n\n";
  auto line = [](const std::vector<std::string>& cells) {
    std::string l = "|";
    for (const auto& c : cells) l += " " + c + " |";
    return l + "\n";
  };
  s += line(columns);
  s += "|";
  for (size_t i = 0; i < columns.size(); ++i) s += i == 0 ? " --- |" : " ---: |";
  s += "\n";
  for (const auto& r : rows) s += line(r);
  if (!note.empty()) s += "\n" + note + "\n";
  return s;
}

std::string Table::latex() const {
  check_shape(*this);
  std::string s = "\\begin{table}[t]\n\\centering\n";
  if (!title.empty()) s += "\\caption{" + latex_escape(title) + "}\n";
  s += "\\begin{tabular}{l" + std::string(columns.size() > 0 ? columns.size() - 1 : 0, 'r') + "}\n\\toprule\n";
  auto line = [](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) l += (i ? " & " : "") + latex_escape(cells[i]);
    return l + " \\\\\n";
  };
  s += line(columns) + "\\midrule\n";
  for (const auto& r : rows) s += line(r);
  s += "\\bottomrule\n\\end{tabular}\n";
  if (!note.empty()) s += "\\par\\smallskip{\\footnotesize " + latex_escape(note) + "}\n";
  return s + "\\end{table}\n";
}

std::string Table::csv() const {
  check_shape(*this);
  std::string s;
  auto line = [](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) l += (i ? "," : "") + csv_field(cells[i]);
    return l + "\n";
  };
  s += line(columns);
  for (const auto& r : rows) s += line(r);
  return s;
}

void Table::write(const std::filesystem::path& dir, const std::string& stem) const {
  write_file_atomic(dir / (stem + ".md"), markdown());
  write_file_atomic(dir / (stem + ".tex"), latex());
  write_file_atomic(dir / (stem + ".csv"), csv());
}

}  // namespace caig::reports
