#include "harness/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

namespace caig {

namespace {

// Set in the re-executed process: the core OpenBLAS chose on its own, when it was overridden.
constexpr const char* kDetectedVar = "CAIG_BLAS_DETECTED_CORE";
// Set in the re-executed process, so that it never runs itself again.
constexpr const char* kRunAgainVar = "CAIG_BLAS_RUNTIME_SET";

// OpenBLAS kernel families without AVX2 code paths: on an AVX2 CPU they mean misdetection.
constexpr std::array<std::string_view, 17> kPreAvx2Cores = {
    "unknown", "katmai",    "coppermine", "northwood", "banias",    "prescott",
    "core2",   "penryn",    "dunnington", "nehalem",   "atom",      "sandybridge",
    "opteron", "barcelona", "bobcat",     "bulldozer", "piledriver"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string call_string_function(const char* symbol) {
  using Fn = char* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, symbol));
  if (fn == nullptr) return "";
  const char* s = fn();
  return s != nullptr ? std::string(s) : std::string();
}

}  // namespace

CpuFeatures host_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512cd = __builtin_cpu_supports("avx512cd");
#endif
  return f;
}

std::string openblas_core_override(const std::string& detected, const CpuFeatures& cpu) {
  const std::string name = lower(detected);
  if (std::find(kPreAvx2Cores.begin(), kPreAvx2Cores.end(), name) == kPreAvx2Cores.end()) return "";
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq && cpu.avx512cd)
    return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return "Haswell";
  return "";
}

int openblas_threads() {
  using Fn = int (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn != nullptr ? fn() : 0;
}

void set_openblas_threads(int threads) {
  using Fn = void (*)(int);
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn != nullptr && threads > 0) fn(threads);
}

std::string openblas_core_name() { return call_string_function("openblas_get_corename"); }
std::string openblas_config() { return call_string_function("openblas_get_config"); }

std::vector<std::pair<std::string, std::string>> blas_thread_settings_to_set(
    const char* openblas_thread_timeout, const char* omp_wait_policy) {
  std::vector<std::pair<std::string, std::string>> set;
  if (openblas_thread_timeout == nullptr) set.emplace_back("OPENBLAS_THREAD_TIMEOUT", "4");
  if (omp_wait_policy == nullptr) set.emplace_back("OMP_WAIT_POLICY", "PASSIVE");
  return set;
}

namespace {

// OPENBLAS_CORETYPE (and the detected core, for the record) when OpenBLAS chose kernels without
// this CPU's vector units and the user has not chosen; else nothing.
std::vector<std::pair<std::string, std::string>> kernel_settings_to_set(const std::string& detected,
                                                                        bool announce) {
  const char* autocore = std::getenv("CAIG_BLAS_AUTOCORE");
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr ||
      (autocore != nullptr && std::string(autocore) == "0"))
    return {};
  const std::string core = openblas_core_override(detected, host_cpu_features());
  if (core.empty()) return {};
  if (announce)
    std::cerr << "caig: OpenBLAS chose its '" << detected
              << "' kernels, which leave this CPU's vector units unused; running again with "
                 "OPENBLAS_CORETYPE="
              << core << " (set OPENBLAS_CORETYPE, or CAIG_BLAS_AUTOCORE=0, to choose yourself)\n";
  return {{"OPENBLAS_CORETYPE", core}, {kDetectedVar, detected}};
}

}  // namespace

void ensure_blas_runtime(char** argv, bool announce) {
  if (std::getenv(kRunAgainVar) != nullptr) return;  // this is the second run
  const std::string detected = openblas_core_name();
  if (detected.empty()) return;
  auto set = kernel_settings_to_set(detected, announce);
  for (auto& s : blas_thread_settings_to_set(std::getenv("OPENBLAS_THREAD_TIMEOUT"),
                                             std::getenv("OMP_WAIT_POLICY")))
    set.push_back(std::move(s));
  if (set.empty()) return;
  set.emplace_back(kRunAgainVar, "1");
  for (const auto& [name, value] : set) ::setenv(name.c_str(), value.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // Only reached when the execution failed: go on as loaded.
  std::cerr << "caig: could not run again (" << std::strerror(errno)
            << "); going on with OpenBLAS's '" << detected << "' kernels and its thread settings\n";
  for (const auto& [name, value] : set) ::unsetenv(name.c_str());
}

constexpr const char* kNotOpenBlas = "not OpenBLAS (no openblas_get_corename)";

nlohmann::json blas_info() {
  nlohmann::json j;
  const std::string core = openblas_core_name();
  j["library"] = core.empty() ? kNotOpenBlas : "OpenBLAS";
  if (core.empty()) return j;
  j["core"] = core;
  j["config"] = openblas_config();
  if (const char* d = std::getenv(kDetectedVar)) j["detected_core"] = d;
  if (const char* c = std::getenv("OPENBLAS_CORETYPE")) j["coretype_env"] = c;
  if (const char* t = std::getenv("OPENBLAS_THREAD_TIMEOUT")) j["thread_timeout_env"] = t;
  if (const char* w = std::getenv("OMP_WAIT_POLICY")) j["omp_wait_policy_env"] = w;
  return j;
}

std::string blas_label() {
  const std::string core = openblas_core_name();
  return core.empty() ? kNotOpenBlas : "OpenBLAS " + core;
}

}  // namespace caig
