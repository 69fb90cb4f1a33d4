#include "reports/pretraining_report.h"

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/report.h"
#include "reports/register.h"

namespace caig::reports {

namespace {

std::string num(const nlohmann::json& j, const char* key, int digits = 3) {
  return j.contains(key) ? fmt::format("{:.{}f}", j.at(key).get<double>(), digits) : "";
}

class PretrainingReport : public Report {
 public:
  std::string stage() const override { return "pretrain"; }
  std::string render(const ReportContext& ctx) const override {
    if (!ctx.metrics.contains("pretrain"))
      fail(
          "report pretraining: metrics.json has no 'pretrain' section (did the pretrain stage "
          "run?)");
    const Table t = pretraining_table(ctx.metrics["pretrain"]);
    t.write(ctx.dir / "tables", "pretraining");
    return "## E-commerce pretraining\n\n" + t.markdown();
  }
};

}  // namespace

Table pretraining_table(const nlohmann::json& m) {
  Table t;
  t.title = "Pretraining: validation figures per task";
  t.columns = {"task",  "loss",    "token acc", "scene",      "lighting",
               "style", "palette", "prop",      "well formed"};
  for (const auto& [task, v] : m.at("tasks").items()) {
    std::vector<std::string> row = {task, num(v, "loss"), num(v, "token_accuracy")};
    for (const char* slot : {"scene", "lighting", "style", "palette", "prop"})
      row.push_back(v.contains("slot_accuracy") ? num(v["slot_accuracy"], slot) : "");
    row.push_back(num(v, "well_formed_rate"));
    t.rows.push_back(row);
  }
  // The auxiliary slot head's own accuracy on validation ads (absent when it was off).
  if (m.contains("slot_head")) {
    const auto& acc = m["slot_head"].at("accuracy");
    std::vector<std::string> row = {"slot head", "", ""};
    for (const char* slot : {"scene", "lighting", "style", "palette", "prop"})
      row.push_back(num(acc, slot));
    row.push_back("");
    t.rows.push_back(row);
  }
  const auto& s = m.at("sampled_descriptions");
  const auto products = s.at("products").get<int64_t>();
  const auto samples = s.value("samples", products);  // one per product before samples were counted
  std::string interval;
  if (s.contains("match_rate_interval"))
    interval = fmt::format(" (95% interval over products {:.3f}-{:.3f})",
                           s["match_rate_interval"].at(0).get<double>(),
                           s["match_rate_interval"].at(1).get<double>());
  t.note = fmt::format(
      "Slot columns: accuracy of greedy descriptions read from the ad (slot head: of the "
      "auxiliary classifier on the vision tokens). Sampled prompt-model descriptions (temperature "
      "1, {} for {} validation products): well formed {:.3f}, match rate {:.3f}{} (the designers' "
      "own match rate on these products: {:.3f}). {} steps, {} examples seen.",
      samples, products, s.at("well_formed_rate").get<double>(), s.at("match_rate").get<double>(),
      interval, s.at("designer_match_rate").get<double>(), m.value("steps", int64_t{0}),
      m.value("examples_seen", int64_t{0}));
  if (s.contains("count_model")) {
    const auto& cm = s["count_model"];
    t.note += fmt::format(
        " Imitation reference: per-category counts of the training designers' scenes and styles, "
        "smoothed by alpha = {:g} (the leave-one-out likelihood's choice), sample matched "
        "backgrounds {:.3f} of the time on these products.",
        cm.at("alpha").get<double>(), cm.at("match_rate").get<double>());
  }
  const int64_t max_steps = m.value("max_steps", int64_t{0});  // 0: metrics before it was recorded
  const auto schedule = m.value("schedule", nlohmann::json::object());
  const int64_t horizon = schedule.value("horizon", max_steps);
  if (schedule.value("fitted", false) && horizon < max_steps) {
    t.note += fmt::format(
        " The {:g} s device-time cap leaves room for fewer than the {} planned steps: timed every "
        "{} steps ({:.0f} ms a step at the last fit, step {}), the cosine schedule was laid out "
        "over {} steps instead, and the run ended at step {} with the learning rate at {:.2f} of "
        "its peak.",
        m.at("max_device_seconds").get<double>(), max_steps,
        schedule.at("probe_steps").get<int64_t>(),
        1000.0 * schedule.at("seconds_per_step").get<double>(),
        schedule.at("fitted_at_step").get<int64_t>(), horizon, m.at("steps").get<int64_t>(),
        m.at("final_lr_fraction").get<double>());
  } else if (m.value("stopped_by", "") == "device_seconds" &&
             m.value("steps", int64_t{0}) < max_steps) {
    t.note += fmt::format(
        " Stopped by the {:g} s device-time cap at {} of {} steps, with the learning rate still "
        "at {:.2f} of its peak (the cosine schedule is laid out over {} steps): on a slower "
        "machine the model gets fewer steps and less annealing, and the figures above are lower.",
        m.at("max_device_seconds").get<double>(), m.at("steps").get<int64_t>(), max_steps,
        m.at("final_lr_fraction").get<double>(), max_steps);
  }
  if (m.contains("synthetic_ads")) {
    const auto& sa = m["synthetic_ads"];
    t.note += fmt::format(
        " The slot head also read {} synthetic ads (uniformly drawn backgrounds on {} training "
        "products, rendered by `{}` in {:.1f} s of the budget).",
        sa.at("ads").get<int64_t>(), sa.at("products").get<int64_t>(),
        sa.at("renderer").get<std::string>(), sa.at("seconds").get<double>());
  }
  return t;
}

void register_pretraining_report(Plugins& p) {
  p.reports.add("pretraining",
                "pretraining table: per-task loss, token accuracy, slot accuracy, well-formed and "
                "match rates of sampled descriptions",
                nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
                  return std::make_unique<PretrainingReport>();
                });
}

}  // namespace caig::reports
