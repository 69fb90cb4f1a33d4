#include <gtest/gtest.h>

#include "harness/error.h"
#include "reports/pretraining_report.h"
#include "reports/table.h"

using caig::reports::Table;

TEST(Table, MarkdownLatexCsv) {
  Table t{"Accuracy", {"model", "acc"}, {{"caig_rm", "0.71"}, {"a_b, \"q\"", "50%"}}, "simulated"};
  EXPECT_EQ(
      t.markdown(),
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

TEST(PretrainingTable, TasksThenTheSlotHeadRow) {
  const auto m = nlohmann::json::parse(R"({
    "tasks": {"describe": {"loss": 0.5, "token_accuracy": 0.8, "well_formed_rate": 1.0,
                           "slot_accuracy": {"scene": 0.75, "lighting": 0.9, "style": 0.8,
                                             "palette": 0.95, "prop": 0.85}},
              "title": {"loss": 0.2, "token_accuracy": 0.95}},
    "slot_head": {"accuracy": {"scene": 0.875, "lighting": 1.0, "style": 0.5, "palette": 0.25,
                               "prop": 0.125}, "examples": 8, "train_loss": 0.4},
    "sampled_descriptions": {"products": 4, "well_formed_rate": 1.0, "match_rate": 0.75,
                             "designer_match_rate": 0.5},
    "steps": 10, "examples_seen": 320})");
  const Table t = caig::reports::pretraining_table(m);
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"describe", "0.500", "0.800", "0.750", "0.900",
                                                 "0.800", "0.950", "0.850", "1.000"}));
  EXPECT_EQ(t.rows[1][3], "");  // title has no slot accuracy
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"slot head", "", "", "0.875", "1.000", "0.500",
                                                 "0.250", "0.125", ""}));
  EXPECT_NE(t.note.find("match rate 0.750"), std::string::npos) << t.note;
  EXPECT_NE(t.note.find("4 for 4 validation products"), std::string::npos) << t.note;
  // Several samples per product, with the interval over products.
  auto several = m;
  several["sampled_descriptions"]["samples"] = 16;
  several["sampled_descriptions"]["match_rate_interval"] = {0.5, 0.875};
  several["sampled_descriptions"]["count_model"] = {
      {"alpha", 0.5}, {"loo_log_likelihood", -4.1}, {"descriptions", 90}, {"match_rate", 0.8125}};
  const auto several_note = caig::reports::pretraining_table(several).note;
  EXPECT_NE(several_note.find("16 for 4 validation products"), std::string::npos) << several_note;
  EXPECT_NE(several_note.find("match rate 0.750 (95% interval over products 0.500-0.875)"),
            std::string::npos)
      << several_note;
  EXPECT_NE(several_note.find("smoothed by alpha = 0.5 (the leave-one-out likelihood's choice), "
                              "sample matched backgrounds 0.812 of the time"),
            std::string::npos)
      << several_note;
  EXPECT_EQ(t.note.find("Imitation reference"), std::string::npos);
  // Without the head there is no such row.
  auto without = m;
  without.erase("slot_head");
  EXPECT_EQ(caig::reports::pretraining_table(without).rows.size(), 2u);
  EXPECT_EQ(t.note.find("synthetic"), std::string::npos);
  // Synthetic ads are stated in the note.
  auto with_synthetic = m;
  with_synthetic["synthetic_ads"] = {
      {"ads", 1200}, {"products", 140}, {"renderer", "procedural"}, {"seconds", 2.31}};
  const auto note = caig::reports::pretraining_table(with_synthetic).note;
  EXPECT_NE(note.find("1200 synthetic ads (uniformly drawn backgrounds on 140 training products, "
                      "rendered by `procedural` in 2.3 s of the budget)"),
            std::string::npos)
      << note;
}

namespace {
// Metrics of a run that the 420 s cap stopped at step 1649 of 2200.
nlohmann::json capped_pretraining_metrics() {
  return nlohmann::json::parse(R"({
    "tasks": {"title": {"loss": 0.2, "token_accuracy": 0.95}},
    "sampled_descriptions": {"products": 4, "well_formed_rate": 1.0, "match_rate": 0.75,
                             "designer_match_rate": 0.5},
    "steps": 1649, "examples_seen": 52768, "stopped_by": "device_seconds", "max_steps": 2200,
    "max_device_seconds": 420.0, "final_lr_fraction": 0.3456})");
}
}  // namespace

TEST(PretrainingTable, SaysWhenTheDeviceTimeCapCutTheScheduleShort) {
  auto m = capped_pretraining_metrics();
  const auto note = caig::reports::pretraining_table(m).note;
  EXPECT_NE(note.find("Stopped by the 420 s device-time cap at 1649 of 2200 steps, with the "
                      "learning rate still at 0.35 of its peak"),
            std::string::npos)
      << note;
  // A run that reached its steps, or stopped by the cap on its last step, says nothing.
  for (const auto& [stopped_by, steps] :
       std::vector<std::pair<std::string, int64_t>>{{"steps", 2200}, {"device_seconds", 2200}}) {
    m["stopped_by"] = stopped_by;
    m["steps"] = steps;
    EXPECT_EQ(caig::reports::pretraining_table(m).note.find("Stopped by"), std::string::npos)
        << stopped_by;
  }
  // Metrics written before the plan was recorded: no claim either.
  m.erase("max_steps");
  m["stopped_by"] = "device_seconds";
  m["steps"] = 10;
  EXPECT_EQ(caig::reports::pretraining_table(m).note.find("Stopped by"), std::string::npos);
}

TEST(PretrainingTable, SaysWhenTheScheduleWasFittedToTheDeviceTimeCap) {
  auto m = capped_pretraining_metrics();
  m["steps"] = 1702;
  m["final_lr_fraction"] = 0.1;
  m["schedule"] = {{"horizon", 1650},    {"fitted", true}, {"seconds_per_step", 0.2384},
                   {"probe_steps", 100}, {"fits", 15},     {"fitted_at_step", 1560},
                   {"margin", 0.05}};
  const auto note = caig::reports::pretraining_table(m).note;
  EXPECT_NE(note.find("The 420 s device-time cap leaves room for fewer than the 2200 planned "
                      "steps: timed every 100 steps (238 ms a step at the last fit, step 1560), "
                      "the cosine schedule was laid out over 1650 steps instead, and the run ended "
                      "at step 1702 with the learning rate at 0.10 of its peak."),
            std::string::npos)
      << note;
  EXPECT_EQ(note.find("Stopped by"), std::string::npos) << note;  // one account, not two
  // A fit that kept max_steps (everything fitted) says nothing about the schedule.
  m["schedule"]["horizon"] = 2200;
  m["stopped_by"] = "steps";
  m["steps"] = 2200;
  EXPECT_EQ(caig::reports::pretraining_table(m).note.find("device-time cap"), std::string::npos);
}
