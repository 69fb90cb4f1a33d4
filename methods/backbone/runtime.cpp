#include "methods/backbone/runtime.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <torch/torch.h>

namespace caig::backbone {

void configure_cpu_runtime(int torch_threads) {
  if (torch_threads > 0) torch::set_num_threads(torch_threads);
#if defined(__GLIBC__)
  // 32 MiB is glibc's largest mmap threshold on 64-bit; setting it fixes the threshold (no
  // dynamic adjustment), and the trim threshold keeps the top of the heap from being released
  // after every step.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}

}  // namespace caig::backbone
