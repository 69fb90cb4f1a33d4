#include "harness/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "harness/error.h"

namespace caig {

double CosineSchedule::at(int64_t step) const {
  if (step < warmup_steps)
    return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const double progress = static_cast<double>(step - warmup_steps) /
                          static_cast<double>(std::max<int64_t>(1, horizon - warmup_steps));
  return peak * (final_ratio + (1.0 - final_ratio) * 0.5 *
                                   (1.0 + std::cos(3.141592653589793 * std::min(1.0, progress))));
}

double CosineSchedule::at(int64_t step, double previous) const {
  const double lr = at(step);
  return step >= warmup_steps && previous >= 0 ? std::min(lr, previous) : lr;
}

int64_t horizon_within_cap(int64_t max_steps, int64_t step, double elapsed_seconds,
                           double cap_seconds, double seconds_per_step, double margin) {
  if (!(cap_seconds > 0) || !(seconds_per_step > 0))
    fail("schedule fit: the cap ({} s) and the time per step ({} s) must be > 0", cap_seconds,
         seconds_per_step);
  if (!(margin >= 0 && margin < 1)) fail("schedule fit: margin must be in [0, 1), got {}", margin);
  const double fit =
      (1.0 - margin) * std::max(0.0, cap_seconds - elapsed_seconds) / seconds_per_step;
  const double limit = static_cast<double>(max_steps - step);  // no overflow from a huge fit
  return std::min(max_steps, step + std::max<int64_t>(
                                        1, static_cast<int64_t>(std::floor(std::min(fit, limit)))));
}

ScheduleFit::ScheduleFit(int64_t max_steps, double cap_seconds, int64_t probe_start,
                         int64_t probe_steps, double margin)
    : max_steps_(max_steps),
      cap_seconds_(cap_seconds),
      probe_start_(probe_start),
      probe_steps_(probe_steps),
      margin_(margin),
      horizon_(max_steps) {
  if (probe_steps < 0) fail("schedule fit: probe steps must be >= 0, got {}", probe_steps);
  if (!(margin >= 0 && margin < 1)) fail("schedule fit: margin must be in [0, 1), got {}", margin);
}

void ScheduleFit::observe(int64_t steps_done, double elapsed_seconds) {
  if (!fits_anything()) return;
  if (steps_done == probe_start_) {
    window_start_ = steps_done, window_t0_ = elapsed_seconds;
    return;
  }
  if (window_t0_ < 0 || steps_done != window_start_ + probe_steps_) return;
  const double pace = (elapsed_seconds - window_t0_) / static_cast<double>(probe_steps_);
  window_start_ = steps_done, window_t0_ = elapsed_seconds;
  if (!(pace > 0)) return;  // a clock that did not move gives no estimate
  seconds_per_step_ = pace;
  fitted_at_ = steps_done;
  ++fits_;
  horizon_ =
      horizon_within_cap(max_steps_, steps_done, elapsed_seconds, cap_seconds_, pace, margin_);
}

nlohmann::json ScheduleFit::to_json() const {
  nlohmann::json j = {{"horizon", horizon_}, {"fitted", fitted()}};
  if (fitted()) {
    j["seconds_per_step"] = seconds_per_step_;
    j["probe_steps"] = probe_steps_;
    j["fitted_at_step"] = fitted_at_;
    j["fits"] = fits_;
    j["margin"] = margin_;
  }
  return j;
}

void ScheduleFit::restore(const nlohmann::json& j) {
  if (!fits_anything() || !j.is_object() || !j.value("fitted", false)) return;
  try {
    horizon_ = std::min(j.at("horizon").get<int64_t>(), max_steps_);  // a resume may cut steps
    seconds_per_step_ = j.at("seconds_per_step").get<double>();
    fitted_at_ = j.at("fitted_at_step").get<int64_t>();
    fits_ = std::max<int64_t>(1, j.at("fits").get<int64_t>());  // a record that says fitted
  } catch (const nlohmann::json::exception& e) {
    fail("schedule fit: a malformed record in the trainer state: {}", e.what());
  }
}

}  // namespace caig
