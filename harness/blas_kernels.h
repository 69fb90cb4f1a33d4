// OpenBLAS chooses its GEMM kernels by CPU model when it is loaded. A CPU newer than the library
// (Debian 12's OpenBLAS 0.3.21 on Intel model 207, Emerald Rapids) is not recognised and gets the
// generic Prescott (SSE3) kernels: measured here, a 2048^3 sgemm ran at 30 GFLOP/s instead of
// 185 and a cpu-preset pretraining step took 3x as long. OpenBLAS reads OPENBLAS_CORETYPE only at
// load time, so the fix is to run the program again with it set. Torch-free.
#pragma once

#include <string>

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

// Called first in main(): when the loaded OpenBLAS misdetected the CPU, re-executes this program
// (same arguments) with OPENBLAS_CORETYPE set, after one line on stderr when `announce`. Does
// nothing when the user set OPENBLAS_CORETYPE, when CAIG_BLAS_AUTOCORE=0, or when the BLAS is not
// OpenBLAS. If the re-execution fails, the program goes on with the detected kernels and says so.
void ensure_blas_kernels(char** argv, bool announce = true);

// For env.json: {"library", "core", "config", "detected_core" (only when overridden),
// "coretype_env" (OPENBLAS_CORETYPE, when set)}; core and config only for OpenBLAS.
nlohmann::json blas_info();
// One line for people: "OpenBLAS SkylakeX", or what the library is when not OpenBLAS.
std::string blas_label();

}  // namespace caig
