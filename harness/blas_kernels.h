// OpenBLAS chooses its GEMM kernels by CPU model when it is loaded. A CPU newer than the library
// (Debian 12's OpenBLAS 0.3.21 on Intel model 207, Emerald Rapids) is not recognised and gets the
// generic Prescott (SSE3) kernels: measured here, a 2048^3 sgemm ran at 30 GFLOP/s instead of
// 185 and a cpu-preset pretraining step took 3x as long. OpenBLAS reads OPENBLAS_CORETYPE only at
// load time, so the fix is to run the program again with it set. Torch-free.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512cd = false;
};
CpuFeatures host_cpu_features();  // what this CPU and OS support

// The OpenBLAS core type to force when `detected` (openblas_get_corename) is a kernel family that
// does not use the CPU's vector units: "SkylakeX" with AVX-512 (F, BW, VL, DQ, CD), "Haswell" with
// AVX2 and FMA. "" keeps the detected one (a recognised CPU, or one without AVX2).
std::string openblas_core_override(const std::string& detected, const CpuFeatures& cpu);

// The loaded OpenBLAS's core name and build configuration; "" when the BLAS is not OpenBLAS.
std::string openblas_core_name();
std::string openblas_config();

// The threading settings that OpenBLAS and OpenMP read only when they load, as (name, value) pairs
// for those of them that are unset (nullptr) now:
//   OPENBLAS_THREAD_TIMEOUT=4  OpenBLAS's idle workers go to sleep after 2^4 cycles instead of
//                              spinning through sched_yield for about 2^28 (a tenth of a second)
//                              after every GEMM, which kept a core busy while LibTorch's
//                              single-threaded operators waited for it;
//   OMP_WAIT_POLICY=PASSIVE    LibTorch's idle OpenMP workers sleep instead of spinning against
//                              OpenBLAS's threads.
// Together they make two intra-op threads faster than one on the 2-core machine (cpu-preset
// training step 0.34-0.35 -> 0.37-0.40 of the sgemm peak; pretraining 5.0 -> 5.8 steps/s, 3 min
// -> 28 s of system time); without them two threads were up to 5x slower. A value the user set is
// kept.
std::vector<std::pair<std::string, std::string>> blas_thread_settings_to_set(
    const char* openblas_thread_timeout, const char* omp_wait_policy);

// Called first in main(), when the BLAS is OpenBLAS: re-executes this program (same arguments)
// with the environment it should have had at load time, once. That is OPENBLAS_CORETYPE when the
// loaded OpenBLAS misdetected the CPU (after one line on stderr when `announce`; not when the
// user set OPENBLAS_CORETYPE or CAIG_BLAS_AUTOCORE=0) and the threading settings above (not
// when the user set both). If the re-execution fails, the program goes on as it is and says so.
void ensure_blas_runtime(char** argv, bool announce = true);

// OpenBLAS's own thread count (openblas_get_num_threads / openblas_set_num_threads); 0 and a
// no-op when the BLAS is not OpenBLAS. Process-wide: set it only where no GEMM is running.
int openblas_threads();
void set_openblas_threads(int threads);

// For env.json: {"library", "core", "config", "detected_core" (only when overridden),
// "coretype_env" (OPENBLAS_CORETYPE, when set), "thread_timeout_env", "omp_wait_policy_env" (when
// set)}; core and config only for OpenBLAS.
nlohmann::json blas_info();
// One line for people: "OpenBLAS SkylakeX", or what the library is when not OpenBLAS.
std::string blas_label();

}  // namespace caig
