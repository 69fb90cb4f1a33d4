// report.html from report.md: the Markdown that the reports write (headings, paragraphs, pipe
// tables, images on their own line, bullet lists, fenced code, `code`, **bold**, [links](...))
// turned into one self-contained page with its style sheet inline. Images and links stay
// relative, so the page reads files inside the run directory only. A block that starts with '<'
// is HTML already (a report's grid) and is passed through unchanged.
#pragma once

#include <string>

namespace caig {

// Text with &, <, >, " escaped.
std::string html_escape(const std::string& text);

// The page for `markdown`, titled `title`.
std::string markdown_to_html(const std::string& markdown, const std::string& title);

}  // namespace caig
