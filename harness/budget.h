// The harness's budget meter: samples, optimiser steps, device seconds (CUDA-synchronised when on a
// GPU) and peak memory. Every method in one table gets the same limits and is stopped when any is
// spent; what it spent is reported beside its results.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace caig {

struct BudgetLimits {
  int64_t max_samples = 0;          // 0: no limit
  int64_t max_steps = 0;            // 0: no limit
  double max_device_seconds = 0.0;  // 0: no limit
  nlohmann::json to_json() const;
  static BudgetLimits from_json(const nlohmann::json& j);  // keys as above, all required
};

class BudgetMeter {
 public:
  // `device`: "cpu" or "cuda[:N]"; the clock synchronises that device at start and stop so
  // asynchronous GPU work is charged to the method that queued it.
  BudgetMeter(BudgetLimits limits, std::string device);

  void start();  // starts the device clock; resets the peak-memory mark on the first start
  void stop();
  bool running() const { return running_; }

  void add_samples(int64_t n) { samples_ += n; }
  void add_steps(int64_t n = 1) { steps_ += n; }
  // Device time spent earlier (a resumed run's, recorded in its checkpoint).
  void add_seconds(double seconds) { seconds_ += seconds; }

  int64_t samples() const { return samples_; }
  int64_t steps() const { return steps_; }
  double device_seconds() const;  // accumulated, including a running segment (no sync)

  // True once any limit is reached; exhausted_by() names it ("samples", "steps",
  // "device_seconds", or "" while not exhausted).
  bool exhausted() const { return !exhausted_by().empty(); }
  std::string exhausted_by() const;

  int64_t peak_memory_bytes() const;  // CUDA: peak allocated; CPU: peak resident set size
  nlohmann::json spent() const;       // what budget.json stores per method

  // RAII segment of metered time: BudgetMeter::Scope s(meter);
  class Scope {
   public:
    explicit Scope(BudgetMeter& m) : m_(m) { m_.start(); }
    ~Scope() { m_.stop(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    BudgetMeter& m_;
  };

 private:
  void synchronize() const;
  BudgetLimits limits_;
  std::string device_;
  bool running_ = false;
  bool started_once_ = false;
  int64_t samples_ = 0, steps_ = 0;
  double seconds_ = 0.0;
  std::chrono::steady_clock::time_point segment_start_;
};

// Peak resident set size of this process (VmHWM) and a reset of that mark (Linux; no-ops
// elsewhere).
int64_t peak_rss_bytes();
void reset_peak_rss();

}  // namespace caig
