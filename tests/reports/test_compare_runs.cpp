#include <filesystem>

#include <gtest/gtest.h>

#include "harness/error.h"
#include "harness/files.h"
#include "reports/compare_runs.h"
#include "reports/table.h"

namespace fs = std::filesystem;
using caig::reports::Table;

namespace {

fs::path fresh(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("caig_compare_" + name);
  fs::remove_all(d);
  fs::create_directories(d / "tables");
  return d;
}

TEST(CompareRuns, ReadCsvKeepsQuotedCommasQuotesAndNewlines) {
  const auto d = fresh("csv");
  Table t{"t", {"model", "note"}, {{"a, b", "say \"hi\"\nthere"}, {"c", ""}}, ""};
  caig::write_file_atomic(d / "t.csv", t.csv());
  const auto rows = caig::reports::read_csv(d / "t.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], "a, b");
  EXPECT_EQ(rows[1][1], "say \"hi\"\nthere");
  EXPECT_EQ(rows[2][1], "");
  caig::write_file_atomic(d / "bad.csv", "a,b\n1,2,3\n");
  try {
    caig::reports::read_csv(d / "bad.csv");
    FAIL() << "a ragged row must be an error";
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:2: 3 fields, the header has 2"),
              std::string::npos);
  }
}

TEST(CompareRuns, LeadingNumbers) {
  double v = 0;
  EXPECT_TRUE(caig::reports::leading_number("49.1 [46.9, 51.5]", v));
  EXPECT_DOUBLE_EQ(v, 49.1);
  EXPECT_TRUE(caig::reports::leading_number("+3.2 (1 product)", v));
  EXPECT_DOUBLE_EQ(v, 3.2);
  EXPECT_FALSE(caig::reports::leading_number("(control)", v));
  EXPECT_FALSE(caig::reports::leading_number("", v));
}

TEST(CompareRuns, ConfigDifferencesChangedCellsRowsOfOneRunAndTimings) {
  const auto a = fresh("a"), b = fresh("b");
  caig::write_json_atomic(a / "config.json", {{"run", {{"seed", 7}, {"name", "x"}}}});
  caig::write_json_atomic(b / "config.json", {{"run", {{"seed", 8}, {"name", "x"}}}});
  caig::write_json_atomic(
      a / "timing.json", {{"stages", {{{"stage", "world"}, {"seconds", 4.0}, {"reused", false}}}}});
  caig::write_json_atomic(
      b / "timing.json", {{"stages", {{{"stage", "world"}, {"seconds", 6.0}, {"reused", false}}}}});
  Table ta{
      "", {"model", "acc %"}, {{"caig", "49.1 [46.9, 51.5]"}, {"fm", "51.9"}, {"lr", "51.7"}}, ""};
  Table tb{
      "", {"model", "acc %"}, {{"caig", "53.4 [51.0, 55.8]"}, {"fm", "51.9"}, {"vam", "52.0"}}, ""};
  ta.write(a / "tables", "reward");
  tb.write(b / "tables", "reward");
  Table only{"", {"x"}, {{"1"}}, ""};
  only.write(a / "tables", "extra");
  const std::string md = caig::reports::compare_runs(a, b);
  EXPECT_NE(md.find("| `run.seed` | 7 | 8 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("`run.name`"), std::string::npos) << "equal keys are not listed";
  EXPECT_NE(md.find("| caig | 49.1 [46.9, 51.5] → 53.4 [51.0, 55.8] (+4.3) |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| fm | 51.9 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| lr (only in A) | 51.7 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| vam (only in B) | 52.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("### extra\n\nOnly in run A."), std::string::npos) << md;
  EXPECT_NE(md.find("| world | 4.0 | 6.0 | 1.50 |"), std::string::npos) << md;
  // Identical runs say so; a directory that is not a run is an error.
  EXPECT_NE(caig::reports::compare_runs(a, a).find("the same resolved config"), std::string::npos);
  EXPECT_THROW(caig::reports::compare_runs(a, fs::temp_directory_path()), caig::Error);
}

}  // namespace
