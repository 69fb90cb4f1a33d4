#include <gtest/gtest.h>

#include "harness/error.h"
#include "reports/table.h"

using caig::reports::Table;

TEST(Table, MarkdownLatexCsv) {
  Table t{"Accuracy", {"model", "acc"}, {{"caig_rm", "0.71"}, {"a_b, \"q\"", "50%"}}, "simulated"};
  EXPECT_EQ(t.markdown(),
            "**Accuracy**\n\n| model | acc |\n| --- | ---: |\n| caig_rm | 0.71 |\n| a_b, \"q\" | 50% |\n"
            "\nsimulated\n");
  EXPECT_EQ(t.csv(), "model,acc\ncaig_rm,0.71\n\"a_b, \"\"q\"\"\",50%\n");
  const std::string tex = t.latex();
  EXPECT_NE(tex.find("\\toprule"), std::string::npos);
  EXPECT_NE(tex.find("caig\\_rm & 0.71 \\\\"), std::string::npos);
  EXPECT_NE(tex.find("50\\%"), std::string::npos);
  EXPECT_NE(tex.find("\\bottomrule"), std::string::npos);
}

TEST(Table, RaggedRowIsAnError) {
  Table t{"x", {"a", "b"}, {{"1"}}, ""};
  EXPECT_THROW(t.markdown(), caig::Error);
}
