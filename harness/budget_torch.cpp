// The budget meter. Needs LibTorch for CUDA synchronisation and CUDA memory peaks.
#include <torch/torch.h>

#include <fstream>
#include <string>

#include "harness/budget.h"
#include "harness/error.h"
#include "harness/device.h"

#ifdef CAIG_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace caig {

namespace {
bool is_cuda(const std::string& device) { return device.rfind("cuda", 0) == 0; }
}  // namespace

// --- limits, counters and CPU memory ---

nlohmann::json BudgetLimits::to_json() const {
  return {{"max_samples", max_samples},
          {"max_steps", max_steps},
          {"max_device_seconds", max_device_seconds}};
}

BudgetLimits BudgetLimits::from_json(const nlohmann::json& j) {
  BudgetLimits b;
  try {
    b.max_samples = j.at("max_samples").get<int64_t>();
    b.max_steps = j.at("max_steps").get<int64_t>();
    b.max_device_seconds = j.at("max_device_seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail("budget: {}", e.what());
  }
  if (b.max_samples < 0 || b.max_steps < 0 || b.max_device_seconds < 0)
    fail("budget: limits must be >= 0 (0 means no limit), got {}", j.dump());
  return b;
}

double BudgetMeter::device_seconds() const {
  double s = seconds_;
  if (running_)
    s += std::chrono::duration<double>(std::chrono::steady_clock::now() - segment_start_).count();
  return s;
}

std::string BudgetMeter::exhausted_by() const {
  if (limits_.max_samples > 0 && samples_ >= limits_.max_samples) return "samples";
  if (limits_.max_steps > 0 && steps_ >= limits_.max_steps) return "steps";
  if (limits_.max_device_seconds > 0 && device_seconds() >= limits_.max_device_seconds)
    return "device_seconds";
  return "";
}

nlohmann::json BudgetMeter::spent() const {
  return {{"device", device_},
          {"samples", samples_},
          {"steps", steps_},
          {"device_seconds", device_seconds()},
          {"peak_memory_bytes", peak_memory_bytes()},
          {"peak_memory_kind", device_.rfind("cuda", 0) == 0 ? "cuda_allocated" : "cpu_rss"},
          {"limits", limits_.to_json()},
          {"exhausted_by", exhausted_by()}};
}

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // kB
  return 0;
}

void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (out) out << "5";  // resets VmHWM to the current RSS
}


// --- the device clock ---

BudgetMeter::BudgetMeter(BudgetLimits limits, std::string device)
    : limits_(limits), device_(std::move(device)) {}

void BudgetMeter::synchronize() const {
  if (is_cuda(device_)) synchronize_device(device_);
}

void BudgetMeter::start() {
  if (running_) return;
  if (!started_once_) {
    started_once_ = true;
#ifdef CAIG_WITH_CUDA
    if (is_cuda(device_))
      c10::cuda::CUDACachingAllocator::resetPeakStats(torch::Device(device_).index() < 0 ? 0 : torch::Device(device_).index());
    else
      reset_peak_rss();
#else
    reset_peak_rss();
#endif
  }
  synchronize();
  running_ = true;
  segment_start_ = std::chrono::steady_clock::now();
}

void BudgetMeter::stop() {
  if (!running_) return;
  synchronize();
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - segment_start_).count();
  running_ = false;
}

int64_t BudgetMeter::peak_memory_bytes() const {
#ifdef CAIG_WITH_CUDA
  if (is_cuda(device_)) {
    const int index = torch::Device(device_).index() < 0 ? 0 : torch::Device(device_).index();
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    // Index 0 is the aggregate over pools in every LibTorch version (the enum moved namespaces).
    return stats.allocated_bytes[0].peak;
  }
#endif
  return peak_rss_bytes();
}

}  // namespace caig
