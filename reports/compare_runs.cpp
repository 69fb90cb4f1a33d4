#include "reports/compare_runs.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig::reports {

namespace {

// Leaves of a JSON tree as "a.b.c" -> value.
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, nlohmann::json>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else {
    out[prefix] = j;
  }
}

std::string cell_md(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string show(const nlohmann::json* v) { return v ? v->dump() : "(absent)"; }

// The number's decimals as the cell wrote them, for the change.
int decimals_of(const std::string& cell) {
  const auto dot = cell.find('.');
  if (dot == std::string::npos) return 0;
  int n = 0;
  for (size_t i = dot + 1; i < cell.size() && std::isdigit(static_cast<unsigned char>(cell[i]));
       ++i)
    ++n;
  return n;
}

std::string diff_cell(const std::string& a, const std::string& b) {
  if (a == b) return a;
  double x = 0, y = 0;
  if (leading_number(a, x) && leading_number(b, y)) {
    const int digits = std::max(decimals_of(a), decimals_of(b));
    return fmt::format("{} → {} ({:+.{}f})", a, b, y - x, digits);
  }
  return fmt::format("{} → {}", a.empty() ? "(empty)" : a, b.empty() ? "(empty)" : b);
}

// Row key: the first cell and how many rows before had the same first cell.
std::map<std::string, size_t> row_keys(const std::vector<std::vector<std::string>>& rows,
                                       std::vector<std::string>& order) {
  std::map<std::string, size_t> keys;
  std::map<std::string, int> seen;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::string first = rows[r].empty() ? "" : rows[r][0];
    const std::string key = first + "#" + std::to_string(seen[first]++);
    keys[key] = r;
    order.push_back(key);
  }
  return keys;
}

std::string compare_table(const std::string& stem, const std::vector<std::vector<std::string>>& a,
                          const std::vector<std::vector<std::string>>& b) {
  std::string md = fmt::format("### {}\n\n", stem);
  if (a.empty() || b.empty() || a[0] != b[0]) {
    md += "The two runs' tables have different columns; shown one after the other.\n\n";
    for (const auto* t : {&a, &b}) {
      for (const auto& row : *t) {
        md += "|";
        for (const auto& c : row) md += " " + cell_md(c) + " |";
        md += "\n";
        if (&row == &t->front()) {
          md += "|";
          for (size_t i = 0; i < row.size(); ++i) md += " --- |";
          md += "\n";
        }
      }
      md += "\n";
    }
    return md;
  }
  std::vector<std::string> order_a, order_b;
  const auto ka = row_keys(a, order_a), kb = row_keys(b, order_b);
  std::vector<std::string> order = order_a;
  for (const auto& k : order_b)
    if (!ka.count(k)) order.push_back(k);
  md += "|";
  for (const auto& c : a[0]) md += " " + cell_md(c) + " |";
  md += "\n|";
  for (size_t i = 0; i < a[0].size(); ++i) md += i ? " ---: |" : " --- |";
  md += "\n";
  int changed = 0;
  for (const auto& key : order) {
    const auto ia = ka.find(key), ib = kb.find(key);
    md += "|";
    for (size_t c = 0; c < a[0].size(); ++c) {
      std::string cell;
      if (ia == ka.end())
        cell = c == 0 ? b[ib->second][0] + " (only in B)" : b[ib->second][c];
      else if (ib == kb.end())
        cell = c == 0 ? a[ia->second][0] + " (only in A)" : a[ia->second][c];
      else
        cell = diff_cell(a[ia->second][c], b[ib->second][c]);
      if (ia == ka.end() || ib == kb.end() || a[ia->second][c] != b[ib->second][c]) ++changed;
      md += " " + cell_md(cell) + " |";
    }
    md += "\n";
  }
  md += changed ? "\n" : "\nIdentical in both runs.\n\n";
  return md;
}

std::map<std::string, fs::path> tables_of(const fs::path& run) {
  std::map<std::string, fs::path> out;
  const fs::path dir = run / "tables";
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".csv") out[e.path().stem().string()] = e.path();
  return out;
}

std::map<std::string, double> stage_seconds(const fs::path& run) {
  std::map<std::string, double> out;
  if (!fs::exists(run / "timing.json")) return out;
  const auto t = read_json(run / "timing.json");
  if (t.contains("stages"))
    for (const auto& s : t.at("stages"))
      out[s.at("stage").get<std::string>()] = s.at("seconds").get<double>();
  return out;
}

}  // namespace

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  const std::string text = read_file(file);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, any = false;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(cell);
      cell.clear();
    } else if (c == '\n') {
      row.push_back(cell);
      cell.clear();
      if (!rows.empty() && row.size() != rows[0].size())
        fail("{}:{}: {} fields, the header has {}", file.string(), line, row.size(),
             rows[0].size());
      rows.push_back(row);
      row.clear();
      ++line;
      any = false;
    } else if (c != '\r') {
      cell += c;
      any = true;
    }
  }
  if (quoted) fail("{}:{}: an unclosed quote", file.string(), line);
  if (any || !cell.empty() || !row.empty()) {
    row.push_back(cell);
    if (!rows.empty() && row.size() != rows[0].size())
      fail("{}:{}: {} fields, the header has {}", file.string(), line, row.size(), rows[0].size());
    rows.push_back(row);
  }
  return rows;
}

bool leading_number(const std::string& cell, double& value) {
  size_t i = 0;
  while (i < cell.size() && cell[i] == ' ') ++i;
  if (i == cell.size()) return false;
  const char* begin = cell.c_str() + i;
  char* end = nullptr;
  value = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(value)) return false;
  return true;
}

std::string compare_runs(const fs::path& a, const fs::path& b) {
  for (const auto& run : {a, b})
    if (!fs::exists(run / "config.json"))
      fail("{} is not a run directory (no config.json)", run.string());
  std::string md = fmt::format("# caig compare\n\nA: `{}`\nB: `{}`\n\n", a.string(), b.string());

  std::map<std::string, nlohmann::json> ca, cb;
  flatten(read_json(a / "config.json"), "", ca);
  flatten(read_json(b / "config.json"), "", cb);
  std::set<std::string> keys;
  for (const auto& [k, v] : ca) keys.insert(k);
  for (const auto& [k, v] : cb) keys.insert(k);
  std::string config;
  for (const auto& k : keys) {
    const auto ia = ca.find(k), ib = cb.find(k);
    const nlohmann::json* va = ia == ca.end() ? nullptr : &ia->second;
    const nlohmann::json* vb = ib == cb.end() ? nullptr : &ib->second;
    if (va && vb && *va == *vb) continue;
    config += fmt::format("| `{}` | {} | {} |\n", k, cell_md(show(va)), cell_md(show(vb)));
  }
  md += "## Config\n\n";
  md += config.empty() ? "The two runs have the same resolved config.\n\n"
                       : "| key | A | B |\n| --- | --- | --- |\n" + config + "\n";

  md += "## Tables\n\n";
  const auto ta = tables_of(a), tb = tables_of(b);
  std::set<std::string> stems;
  for (const auto& [s, p] : ta) stems.insert(s);
  for (const auto& [s, p] : tb) stems.insert(s);
  if (stems.empty()) md += "Neither run has tables.\n\n";
  for (const auto& s : stems) {
    if (!ta.count(s) || !tb.count(s)) {
      md += fmt::format("### {}\n\nOnly in run {}.\n\n", s, ta.count(s) ? "A" : "B");
      continue;
    }
    md += compare_table(s, read_csv(ta.at(s)), read_csv(tb.at(s)));
  }

  const auto sa = stage_seconds(a), sb = stage_seconds(b);
  if (!sa.empty() || !sb.empty()) {
    md +=
        "## Stage wall-clock seconds\n\n| stage | A | B | B / A |\n| --- | ---: | ---: | ---: |\n";
    std::set<std::string> names;
    for (const auto& [n, v] : sa) names.insert(n);
    for (const auto& [n, v] : sb) names.insert(n);
    for (const auto& n : names) {
      const bool ha = sa.count(n), hb = sb.count(n);
      md += fmt::format("| {} | {} | {} | {} |\n", n, ha ? fmt::format("{:.1f}", sa.at(n)) : "",
                        hb ? fmt::format("{:.1f}", sb.at(n)) : "",
                        ha && hb && sa.at(n) > 0 ? fmt::format("{:.2f}", sb.at(n) / sa.at(n)) : "");
    }
  }
  return md;
}

}  // namespace caig::reports
