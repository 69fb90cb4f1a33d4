// Process-wide CPU settings the backbone's speed depends on. Call once at startup, before the
// first large tensor is allocated.
#pragma once

namespace caig::backbone {

// Sets LibTorch's intra-op threads (0 keeps LibTorch's default; GEMMs are threaded by the BLAS
// itself) and keeps freed activation-sized blocks (up to 32 MiB) in the malloc heap
// instead of returning them to the kernel: with glibc's defaults every training step mmaps,
// page-faults and unmaps its activation buffers afresh, which was measured to make a cpu-preset
// training step about 2x slower. Costs at most that much resident memory after a large free.
// No-op outside glibc.
void configure_cpu_runtime(int torch_threads = 1);

}  // namespace caig::backbone
