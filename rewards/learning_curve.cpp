#include "rewards/learning_curve.h"

#include <algorithm>
#include <cmath>

#include "harness/error.h"
#include "rewards/evaluate.h"

namespace caig::rewards {

std::vector<double> curve_fractions(const CurveOptions& o) {
  if (o.points < 1) return {};
  if (o.points == 1) return {1.0};
  if (!(o.first_fraction > 0.0 && o.first_fraction < 1.0))
    fail("learning curve: first_fraction must be in (0, 1), got {}", o.first_fraction);
  std::vector<double> f;
  const double ratio = std::pow(1.0 / o.first_fraction, 1.0 / (o.points - 1));
  for (int k = 0; k < o.points; ++k)
    f.push_back(k + 1 == o.points ? 1.0 : o.first_fraction * std::pow(ratio, k));
  if (o.converge)
    for (double x = ratio; x <= o.cap * (1 + 1e-12); x *= ratio) f.push_back(x);
  return f;
}

double budget_fraction(const BudgetLimits& l, int64_t samples, int64_t steps, double seconds) {
  double f = 0;
  if (l.max_samples > 0)
    f = std::max(f, static_cast<double>(samples) / static_cast<double>(l.max_samples));
  if (l.max_steps > 0)
    f = std::max(f, static_cast<double>(steps) / static_cast<double>(l.max_steps));
  if (l.max_device_seconds > 0) f = std::max(f, seconds / l.max_device_seconds);
  return f;
}

std::string binding_limit(const BudgetLimits& l, int64_t samples, int64_t steps, double seconds) {
  std::string which;
  double f = -1;
  auto consider = [&](bool set, double x, const char* name) {
    if (set && x > f) {
      f = x;
      which = name;
    }
  };
  consider(l.max_samples > 0, static_cast<double>(samples) / static_cast<double>(l.max_samples),
           "samples");
  consider(l.max_steps > 0, static_cast<double>(steps) / static_cast<double>(l.max_steps), "steps");
  consider(l.max_device_seconds > 0, seconds / l.max_device_seconds, "device_seconds");
  return which;
}

BudgetLimits scaled_limits(const BudgetLimits& l, double factor) {
  BudgetLimits s = l;
  if (s.max_samples > 0)
    s.max_samples = static_cast<int64_t>(std::ceil(static_cast<double>(l.max_samples) * factor));
  if (s.max_steps > 0)
    s.max_steps = static_cast<int64_t>(std::ceil(static_cast<double>(l.max_steps) * factor));
  s.max_device_seconds = l.max_device_seconds * factor;
  return s;
}

nlohmann::json CurvePoint::to_json() const {
  return {{"index", index},
          {"fraction", fraction},
          {"samples", samples},
          {"steps", steps},
          {"device_seconds", device_seconds},
          {"accuracy", accuracy},
          {"both_orders_accuracy", both_orders},
          {"consistency", consistency}};
}

BudgetProbe::BudgetProbe(RewardModel& model, std::string name, const EvalSet& val,
                         const EvalSet& test, BudgetLimits table, CurveOptions options,
                         bool both_orders)
    : model_(model),
      name_(std::move(name)),
      val_(val),
      test_(test),
      table_(table),
      options_(options),
      both_orders_(both_orders),
      fractions_(curve_fractions(options)) {
  if (options_.converge && options_.cap < 1.0)
    fail("learning curve: converged_cap must be >= 1 budget, got {}", options_.cap);
  if (options_.patience < 1)
    fail("learning curve: patience must be >= 1, got {}", options_.patience);
}

bool BudgetProbe::due(const BudgetMeter& meter) {
  if (stopped_) return false;
  const double f = budget_fraction(table_, meter.samples(), meter.steps(), meter.device_seconds());
  return (next_ < fractions_.size() && f >= fractions_[next_]) || (!table_done_ && f >= 1.0);
}

CurvePoint BudgetProbe::evaluate(const BudgetMeter& meter, int index) {
  // The validation figures need no interval: one bootstrap replicate.
  metrics::PairwiseOptions po;
  po.bootstrap = 1;
  const auto preds = predict_pairs(model_, name_, val_, true);
  CurvePoint p;
  p.index = index;
  p.samples = meter.samples();
  p.steps = meter.steps();
  p.device_seconds = meter.device_seconds();
  p.fraction = budget_fraction(table_, p.samples, p.steps, p.device_seconds);
  p.accuracy = metrics::observed_accuracy(preds, po).accuracy;
  const auto o = metrics::both_orders(preds, po);
  p.both_orders = o.both.accuracy;
  p.consistency = o.consistency;
  return p;
}

void BudgetProbe::take_table(const BudgetMeter& meter) {
  table_preds_ = predict_pairs(model_, name_, test_, both_orders_);
  table_spent_ = meter.spent();
  table_spent_["limits"] = table_.to_json();
  table_spent_["exhausted_by"] =
      binding_limit(table_, meter.samples(), meter.steps(), meter.device_seconds());
  table_done_ = true;
  if (on_table) on_table();
}

bool BudgetProbe::run(const BudgetMeter& meter) {
  const double f = budget_fraction(table_, meter.samples(), meter.steps(), meter.device_seconds());
  // A step that crossed several points gives one evaluation, at the last point it crossed.
  int index = -1;
  while (next_ < fractions_.size() && f >= fractions_[next_]) index = static_cast<int>(next_++);
  if (index < 0) index = static_cast<int>(next_) - 1;  // the budget point between two others
  const CurvePoint p = evaluate(meter, std::max(index, 0));
  curve_.push_back(p);
  const bool took_table = f >= 1.0 && !table_done_;
  if (took_table) take_table(meter);
  if (!options_.converge) return true;  // the meter holds the table's limits
  if (!has_best_ || p.both_orders > best_.both_orders) {
    best_ = p;
    has_best_ = true;
    since_best_ = 0;
    best_preds_ = took_table ? table_preds_ : predict_pairs(model_, name_, test_, both_orders_);
  } else {
    ++since_best_;
  }
  // Never before the table's budget is spent: the equal-budget row needs it.
  if (table_done_ && since_best_ >= options_.patience) {
    stopped_ = true;
    return false;
  }
  return true;
}

void BudgetProbe::finish(const BudgetMeter& meter) {
  if (table_done_) return;
  if (options_.converge &&
      budget_fraction(table_, meter.samples(), meter.steps(), meter.device_seconds()) > 1.0 + 1e-9)
    fail(
        "reward model {} trained past the table's budget without the harness's evaluations "
        "(it does not pass TrainContext::probe to its trainer); set "
        "stages.reward_accuracy.converge = false",
        name_);
  take_table(meter);
  if (!has_best_) {
    best_preds_ = table_preds_;
    best_.samples = meter.samples();
    best_.steps = meter.steps();
    best_.device_seconds = meter.device_seconds();
    best_.fraction = 1.0;
    has_best_ = true;
  }
}

std::string BudgetProbe::stopped_by(const BudgetMeter& meter) const {
  if (stopped_) return "patience";
  if (!options_.converge) return "budget";
  const std::string by = meter.exhausted_by();
  return by.empty() ? "training ended" : "cap (" + by + ")";
}

}  // namespace caig::rewards
