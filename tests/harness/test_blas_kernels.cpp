#include <gtest/gtest.h>

#include "harness/blas_kernels.h"

namespace caig {
namespace {

CpuFeatures avx512() {
  CpuFeatures f;
  f.avx2 = f.fma = true;
  f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512cd = true;
  return f;
}

CpuFeatures avx2_only() {
  CpuFeatures f;
  f.avx2 = f.fma = true;
  return f;
}

TEST(BlasKernels, GenericKernelsOnAVectorCpuAreReplaced) {
  // The case measured here: OpenBLAS 0.3.21 on Emerald Rapids reports Prescott.
  EXPECT_EQ(openblas_core_override("Prescott", avx512()), "SkylakeX");
  EXPECT_EQ(openblas_core_override("Prescott", avx2_only()), "Haswell");
  EXPECT_EQ(openblas_core_override("PRESCOTT", avx2_only()), "Haswell");  // any case
  EXPECT_EQ(openblas_core_override("Unknown", avx512()), "SkylakeX");
  EXPECT_EQ(openblas_core_override("Sandybridge", avx2_only()), "Haswell");
  EXPECT_EQ(openblas_core_override("Core2", avx2_only()), "Haswell");
}

TEST(BlasKernels, PartialAvx512FallsBackToAvx2Kernels) {
  CpuFeatures f = avx2_only();
  f.avx512f = true;  // AVX-512 F alone (as on Knights Landing) is not what SkylakeX kernels need
  EXPECT_EQ(openblas_core_override("Prescott", f), "Haswell");
}

TEST(BlasKernels, RecognisedCpusAndOldCpusAreLeftAlone) {
  for (const char* core : {"Haswell", "SkylakeX", "Cooperlake", "Zen", "SapphireRapids"})
    EXPECT_EQ(openblas_core_override(core, avx512()), "") << core;
  // A CPU without AVX2 really is a Prescott-class CPU for OpenBLAS.
  EXPECT_EQ(openblas_core_override("Prescott", CpuFeatures{}), "");
  CpuFeatures avx2_no_fma;
  avx2_no_fma.avx2 = true;
  EXPECT_EQ(openblas_core_override("Prescott", avx2_no_fma), "");
  EXPECT_EQ(openblas_core_override("", avx512()), "");  // not OpenBLAS
}

TEST(BlasKernels, ThreadSettingsAreSetOnlyWhereTheUserLeftThemUnset) {
  using Settings = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(blas_thread_settings_to_set(nullptr, nullptr),
            (Settings{{"OPENBLAS_THREAD_TIMEOUT", "4"}, {"OMP_WAIT_POLICY", "PASSIVE"}}));
  EXPECT_EQ(blas_thread_settings_to_set("28", nullptr),
            (Settings{{"OMP_WAIT_POLICY", "PASSIVE"}}));
  EXPECT_EQ(blas_thread_settings_to_set(nullptr, "ACTIVE"),
            (Settings{{"OPENBLAS_THREAD_TIMEOUT", "4"}}));
  EXPECT_TRUE(blas_thread_settings_to_set("", "").empty());  // set, even if empty
}

TEST(BlasKernels, WithoutOpenBlasInfoSaysSo) {
  // The harness tests link no BLAS, so no openblas_get_corename is loaded here.
  EXPECT_EQ(openblas_core_name(), "");
  const auto j = blas_info();
  EXPECT_FALSE(j.contains("core"));
  EXPECT_NE(j["library"].get<std::string>().find("not OpenBLAS"), std::string::npos);
}

}  // namespace
}  // namespace caig
