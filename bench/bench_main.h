// The benchmarks' main: the BLAS kernel check of `caig` (harness/blas_kernels.h) first, so that a
// benchmark measures the kernels the harness itself runs with, and the kernels in the context.
#pragma once

#include <string>

#include <benchmark/benchmark.h>

#include "harness/blas_kernels.h"

#define CAIG_BENCHMARK_MAIN()                                                                      \
  int main(int argc, char** argv) {                                                                \
    caig::ensure_blas_runtime(argv);                                                               \
    benchmark::AddCustomContext("blas", caig::blas_label());                                       \
    const auto blas = caig::blas_info();                                                           \
    if (blas.contains("detected_core"))                                                            \
      benchmark::AddCustomContext("blas_detected_core", blas["detected_core"].get<std::string>()); \
    benchmark::Initialize(&argc, argv);                                                            \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;                              \
    benchmark::RunSpecifiedBenchmarks();                                                           \
    benchmark::Shutdown();                                                                         \
    return 0;                                                                                      \
  }
