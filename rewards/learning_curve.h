// Learning curves and early stopping of the reward-model table, from the same trainings as the
// equal-budget table: while a model trains, a BudgetProbe scores it on the validation pairs at
// log-spaced fractions of the table's budget (the clock stopped), takes the table's test
// predictions when the budget is spent, and, with `converge`, lets the model train on up to
// `cap` budgets until its validation accuracy has not improved for `patience` evaluations (the
// converged row: the test predictions at its best validation point).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/budget.h"
#include "harness/trainer.h"
#include "metrics/pairwise.h"
#include "rewards/ad_set.h"
#include "rewards/reward_model.h"

namespace caig::rewards {

struct CurveOptions {
  int points = 10;               // evaluations up to the table's budget (0: no curve, no probe)
  double first_fraction = 0.01;  // of the budget, the first evaluation
  bool converge = true;          // train on past the budget, for the converged row
  int patience = 3;              // evaluations without a better validation accuracy
  double cap = 3.0;              // the converged training's limit, in budgets
};

// The budget fractions of the evaluations: `points` log-spaced from first_fraction to 1, then on
// at the same ratio while <= cap (with converge). One point: just 1.
std::vector<double> curve_fractions(const CurveOptions& o);

// The share of `limits` spent: the largest ratio of spent to limit over the limits that are set
// (samples, steps, device seconds); 0 when none is set.
double budget_fraction(const BudgetLimits& limits, int64_t samples, int64_t steps, double seconds);
// Which limit of `limits` that share comes from ("samples", "steps", "device_seconds").
std::string binding_limit(const BudgetLimits& limits, int64_t samples, int64_t steps,
                          double seconds);

// Every limit of `limits` times `factor` (unset ones stay unset).
BudgetLimits scaled_limits(const BudgetLimits& limits, double factor);

// The figures of one evaluation on the validation pairs.
struct CurvePoint {
  int index = 0;        // into curve_fractions
  double fraction = 0;  // of the budget actually spent
  int64_t samples = 0, steps = 0;
  double device_seconds = 0;
  double accuracy = 0;     // strict, stored order (as the table)
  double both_orders = 0;  // over both orders (what early stopping follows)
  double consistency = 0;
  nlohmann::json to_json() const;
};

class BudgetProbe : public TrainingProbe {
 public:
  BudgetProbe(RewardModel& model, std::string name, const EvalSet& val, const EvalSet& test,
              BudgetLimits table, CurveOptions options, bool both_orders);

  // Called once the table's predictions are taken, with the model as the table scored it (e.g.
  // to save it: the kept model is the table's, not the converged one).
  std::function<void()> on_table;

  bool due(const BudgetMeter& meter) override;
  bool run(const BudgetMeter& meter) override;
  // After train(): takes the table's predictions now if no evaluation reached the budget (a
  // model trained without the harness's trainer). With converge that would have trained past
  // the budget unseen: an Error naming the model.
  void finish(const BudgetMeter& meter);

  const std::vector<CurvePoint>& curve() const { return curve_; }
  // The table's: test predictions and spent budget when the budget was first spent.
  const std::vector<metrics::PairPrediction>& table_predictions() const { return table_preds_; }
  const nlohmann::json& table_spent() const { return table_spent_; }
  // The converged row's: test predictions at the best validation point, and that point.
  const std::vector<metrics::PairPrediction>& best_predictions() const { return best_preds_; }
  const CurvePoint& best_point() const { return best_; }
  // "patience", or the meter's limit that ended the training ("budget" without converge).
  std::string stopped_by(const BudgetMeter& meter) const;

 private:
  CurvePoint evaluate(const BudgetMeter& meter, int index);
  void take_table(const BudgetMeter& meter);

  RewardModel& model_;
  std::string name_;
  const EvalSet& val_;
  const EvalSet& test_;
  BudgetLimits table_;
  CurveOptions options_;
  bool both_orders_;
  std::vector<double> fractions_;
  size_t next_ = 0;
  std::vector<CurvePoint> curve_;
  bool table_done_ = false, stopped_ = false;
  std::vector<metrics::PairPrediction> table_preds_, best_preds_;
  nlohmann::json table_spent_;
  CurvePoint best_;
  bool has_best_ = false;
  int since_best_ = 0;
};

}  // namespace caig::rewards
