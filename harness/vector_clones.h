// CAIG_VECTOR_CLONES builds a function once per x86-64 vector width (AVX-512, AVX2 and the
// baseline) and lets the loader bind the widest the CPU has, so plain loops vectorise to the
// machine without -march flags that would make the binary unportable. GCC only; elsewhere the
// function is built for the baseline.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CAIG_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CAIG_VECTOR_CLONES
#endif
