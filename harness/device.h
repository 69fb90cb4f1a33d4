// Device selection and the run's environment record (env.json). Torch stays in the .cpp.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace caig {

// "auto" -> "cuda" when a GPU is visible, else "cpu"; "cuda" without a GPU is an error.
std::string resolve_device(const std::string& requested);
bool cuda_available();
void synchronize_device(const std::string& device);

// Seeds torch's CPU and CUDA generators (one of the streams derived from the run seed).
void seed_torch(uint64_t seed);
// threads <= 0 leaves LibTorch's default.
void set_torch_threads(int threads);
int torch_threads();  // LibTorch's intra-op threads now

std::string torch_version();  // "1.13.0"
std::string caig_version();   // project version and git revision
// Versions of LibTorch, OpenCV, compiler, git revision, device, threads and the BLAS kernels.
nlohmann::json environment_info(const std::string& device);

}  // namespace caig
