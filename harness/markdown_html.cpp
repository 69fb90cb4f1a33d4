#include "harness/markdown_html.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace caig {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// `code`, **bold**, ![alt](src) and [text](href) inside one line of text.
std::string inline_html(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '`') {
      const auto end = s.find('`', i + 1);
      if (end != std::string::npos) {
        out += "<code>" + html_escape(s.substr(i + 1, end - i - 1)) + "</code>";
        i = end + 1;
        continue;
      }
    }
    if (s.compare(i, 2, "**") == 0) {
      const auto end = s.find("**", i + 2);
      if (end != std::string::npos) {
        out += "<strong>" + inline_html(s.substr(i + 2, end - i - 2)) + "</strong>";
        i = end + 2;
        continue;
      }
    }
    const bool image = s.compare(i, 2, "![") == 0;
    if (image || s[i] == '[') {
      const size_t open = i + (image ? 2 : 1);
      const auto close = s.find("](", open);
      const auto end = close == std::string::npos ? close : s.find(')', close + 2);
      if (end != std::string::npos && s.find('\n', open) > end) {
        const std::string text = s.substr(open, close - open);
        const std::string href = html_escape(s.substr(close + 2, end - close - 2));
        out += image ? "<img src=\"" + href + "\" alt=\"" + html_escape(text) + "\">"
                     : "<a href=\"" + href + "\">" + inline_html(text) + "</a>";
        i = end + 1;
        continue;
      }
    }
    out += html_escape(std::string(1, s[i]));
    ++i;
  }
  return out;
}

std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string t = trim(line);
  if (starts_with(t, "|")) t.erase(0, 1);
  if (!t.empty() && t.back() == '|') t.pop_back();
  std::string cell;
  for (char c : t) {
    if (c == '|') {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(trim(cell));
  return cells;
}

// A cell that starts with a number (or its sign) is set right-aligned.
bool numeric(const std::string& cell) {
  return !cell.empty() && (std::isdigit(static_cast<unsigned char>(cell[0])) ||
                           ((cell[0] == '+' || cell[0] == '-' || cell[0] == '.') &&
                            cell.size() > 1 && std::isdigit(static_cast<unsigned char>(cell[1]))));
}

bool is_rule_row(const std::vector<std::string>& cells) {
  for (const auto& c : cells)
    if (c.empty() || c.find_first_not_of("-: ") != std::string::npos) return false;
  return true;
}

const char* const kStyle = R"(
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
       max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #ddd; padding-bottom: .3rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #e5e5e5; }
h3 { font-size: 1.1rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 13px; display: block;
        overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #d8d8d8; padding: 3px 8px; white-space: nowrap; }
th { background: #f3f3f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; height: auto; }
p > img:only-child { display: block; margin: .5rem 0; }
code { background: #f2f2f4; padding: 0 3px; border-radius: 3px; font-size: 90%; }
pre { background: #f6f6f8; padding: .6rem; overflow-x: auto; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(128px, 1fr));
           gap: 10px; margin: .6rem 0 1.2rem; }
.gallery figure { margin: 0; font-size: 11px; line-height: 1.3; }
.gallery img { width: 100%; image-rendering: pixelated; border: 1px solid #ccc; }
.gallery .mismatch img { border: 2px solid #c0392b; }
)";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string markdown_to_html(const std::string& markdown, const std::string& title) {
  std::vector<std::string> lines;
  {
    std::istringstream in(markdown);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  std::string body;
  size_t i = 0;
  auto blank = [&](size_t k) { return trim(lines[k]).empty(); };
  while (i < lines.size()) {
    const std::string t = trim(lines[i]);
    if (t.empty()) {
      ++i;
    } else if (starts_with(t, "```")) {  // fenced code, verbatim
      std::string code;
      for (++i; i < lines.size() && !starts_with(trim(lines[i]), "```"); ++i)
        code += lines[i] + "\n";
      ++i;
      body += "<pre><code>" + html_escape(code) + "</code></pre>\n";
    } else if (starts_with(t, "#")) {
      const size_t level = std::min<size_t>(t.find_first_not_of('#'), 6);
      body += "<h" + std::to_string(level) + ">" + inline_html(trim(t.substr(level))) + "</h" +
              std::to_string(level) + ">\n";
      ++i;
    } else if (starts_with(t, "<")) {  // a block of HTML: as it is
      for (; i < lines.size() && !blank(i); ++i) body += lines[i] + "\n";
    } else if (starts_with(t, "|")) {
      std::vector<std::vector<std::string>> rows;
      for (; i < lines.size() && starts_with(trim(lines[i]), "|"); ++i)
        rows.push_back(table_cells(lines[i]));
      const bool head = rows.size() >= 2 && is_rule_row(rows[1]);
      body += "<table>\n";
      for (size_t r = 0; r < rows.size(); ++r) {
        if (head && r == 1) continue;
        const bool th = head && r == 0;
        body += "<tr>";
        for (size_t c = 0; c < rows[r].size(); ++c)
          body += std::string(th                             ? "<th>"
                              : c > 0 && numeric(rows[r][c]) ? "<td class=\"num\">"
                                                             : "<td>") +
                  inline_html(rows[r][c]) + (th ? "</th>" : "</td>");
        body += "</tr>\n";
      }
      body += "</table>\n";
    } else if (starts_with(t, "- ") || starts_with(t, "* ")) {
      body += "<ul>\n";
      while (i < lines.size() &&
             (starts_with(trim(lines[i]), "- ") || starts_with(trim(lines[i]), "* "))) {
        std::string item = trim(lines[i]).substr(2);
        // continuation lines, indented, belong to the item
        for (++i; i < lines.size() && !blank(i) && starts_with(lines[i], "  ") &&
                  !starts_with(trim(lines[i]), "- ");
             ++i)
          item += " " + trim(lines[i]);
        body += "<li>" + inline_html(item) + "</li>\n";
      }
      body += "</ul>\n";
    } else {
      std::string para;
      for (; i < lines.size() && !blank(i); ++i) {
        const std::string u = trim(lines[i]);
        if (!para.empty() && (starts_with(u, "|") || starts_with(u, "#") || starts_with(u, "```") ||
                              starts_with(u, "- ")))
          break;
        para += (para.empty() ? "" : "\n") + u;
      }
      body += "<p>" + inline_html(para) + "</p>\n";
    }
  }
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         html_escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + body +
         "</body>\n</html>\n";
}

}  // namespace caig
