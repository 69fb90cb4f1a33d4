#include <gtest/gtest.h>

#include "harness/markdown_html.h"

namespace caig {
namespace {

std::string body_of(const std::string& page) {
  const auto b = page.find("<body>\n"), e = page.find("</body>");
  return page.substr(b + 7, e - b - 7);
}

TEST(MarkdownHtml, EscapesTextAndTitle) {
  EXPECT_EQ(html_escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
  const auto page = markdown_to_html("x < y & z", "run <1>");
  EXPECT_NE(page.find("<title>run &lt;1&gt;</title>"), std::string::npos);
  EXPECT_EQ(body_of(page), "<p>x &lt; y &amp; z</p>\n");
}

TEST(MarkdownHtml, HeadingsParagraphsAndInlineMarks) {
  const auto b = body_of(markdown_to_html(
      "# Run `paper`\n\nSome **bold** text\nover two lines, [a link](tables/t.csv).\n\n"
      "## Second\n",
      "t"));
  EXPECT_EQ(b,
            "<h1>Run <code>paper</code></h1>\n"
            "<p>Some <strong>bold</strong> text\nover two lines, "
            "<a href=\"tables/t.csv\">a link</a>.</p>\n"
            "<h2>Second</h2>\n");
}

TEST(MarkdownHtml, PipeTableWithHeaderAndNumericCells) {
  const auto b =
      body_of(markdown_to_html("| model | acc % |\n| --- | ---: |\n| caig | 49.1 |\n", "t"));
  EXPECT_EQ(b,
            "<table>\n<tr><th>model</th><th>acc %</th></tr>\n"
            "<tr><td>caig</td><td class=\"num\">49.1</td></tr>\n</table>\n");
}

TEST(MarkdownHtml, ImagesListsCodeAndRawHtmlBlocks) {
  const auto b = body_of(markdown_to_html(
      "![lift per category](figures/ab.png)\n\n- one\n- two `x`\n  continued\n\n```\na < b\n```\n\n"
      "<div class=\"gallery\">\n<figure>x</figure>\n</div>\n",
      "t"));
  EXPECT_EQ(b,
            "<p><img src=\"figures/ab.png\" alt=\"lift per category\"></p>\n"
            "<ul>\n<li>one</li>\n<li>two <code>x</code> continued</li>\n</ul>\n"
            "<pre><code>a &lt; b\n</code></pre>\n"
            "<div class=\"gallery\">\n<figure>x</figure>\n</div>\n");
}

TEST(MarkdownHtml, UnclosedMarksStayText) {
  EXPECT_EQ(body_of(markdown_to_html("a `b and **c and [d](e", "t")),
            "<p>a `b and **c and [d](e</p>\n");
}

}  // namespace
}  // namespace caig
