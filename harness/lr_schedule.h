// The trainer's learning-rate schedule, and fitting its length to a device-time cap.
//
// Linear warm-up to the peak, then a cosine decay to peak * final_ratio at `horizon`, constant
// after it. The horizon is max_steps unless the run has a device-time cap that would stop it
// first: a cosine laid out over max_steps but cut off by the cap ends with the learning rate far
// from annealed (0.3-0.5 of the peak on a slow CPU). So the trainer times its steps as it goes and
// lays the cosine out over the steps predicted to fit (a ScheduleFit). Torch-free.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace caig {

struct CosineSchedule {
  double peak = 0;
  int64_t warmup_steps = 0;
  int64_t horizon = 1;  // the step at which the decay ends
  double final_ratio = 0.1;
  double at(int64_t step) const;  // the learning rate of 0-based `step`
  // The same, but never above `previous` (the learning rate last applied; < 0: none) once the
  // decay has begun: a horizon that moves later (a refit on a machine that sped up, a resumed run
  // with more steps or a fresh cap) must not raise an annealed learning rate again.
  double at(int64_t step, double previous) const;
};

// The steps after `step` that fit the rest of a device-time cap at `seconds_per_step`, less a
// `margin` (a fraction) for a machine that slows down, as a horizon: step + that, at most
// max_steps and at least step + 1 (while step < max_steps). Error on a non-positive cap or time per
// step, or a margin outside [0, 1).
int64_t horizon_within_cap(int64_t max_steps, int64_t step, double elapsed_seconds,
                           double cap_seconds, double seconds_per_step, double margin);

// Times the steps in windows of probe_steps from probe_start on the budget meter's clock and, at
// the end of each window, lays the horizon out over what fits the rest of the cap at that window's
// pace (horizon_within_cap): a machine that slows down part way (measured here: 250 -> 300 ms a
// step) still ends its run annealed. Fed after every step; the latest fit is recorded (to_json) so
// that a resumed run starts from the same horizon.
class ScheduleFit {
 public:
  // probe_steps 0 or cap_seconds 0: nothing to fit, the horizon stays max_steps.
  // probe_start: the first step timed (after the warm-up and a process's first, slower steps).
  ScheduleFit(int64_t max_steps, double cap_seconds, int64_t probe_start, int64_t probe_steps,
              double margin);

  // `steps_done` steps have run and the meter reads `elapsed_seconds`.
  void observe(int64_t steps_done, double elapsed_seconds);

  int64_t horizon() const { return horizon_; }
  bool fitted() const { return fits_ > 0; }
  nlohmann::json to_json() const;
  // A recorded fit, restored on resume (at most max_steps) and kept until the resumed run's own
  // first fit; ignored when the record has no fit or this run fits nothing (no cap or no probe
  // steps: its horizon is max_steps).
  void restore(const nlohmann::json& j);

 private:
  bool fits_anything() const { return probe_steps_ > 0 && cap_seconds_ > 0; }
  int64_t max_steps_;
  double cap_seconds_;
  int64_t probe_start_, probe_steps_;
  double margin_;
  int64_t window_start_ = -1;
  double window_t0_ = -1;  // meter reading at window_start_; < 0 before the first window
  int64_t horizon_;
  int64_t fits_ = 0;
  double seconds_per_step_ = 0;
  int64_t fitted_at_ = 0;
};

}  // namespace caig
