#include <torch/torch.h>
#include <torch/version.h>

#include <unistd.h>
#include <opencv2/core/version.hpp>
#include <thread>

#include "harness/blas_kernels.h"
#include "harness/device.h"
#include "harness/error.h"

namespace caig {

// Generated at build time (cmake/GitRevision.cmake).
const char* caig_git_revision();
const char* caig_project_version();

bool cuda_available() { return torch::cuda::is_available(); }

std::string resolve_device(const std::string& requested) {
  if (requested == "auto") return cuda_available() ? "cuda" : "cpu";
  if (requested == "cpu") return "cpu";
  if (requested.rfind("cuda", 0) == 0) {
    if (!cuda_available())
      fail("device '{}' requested but no CUDA device is visible (LibTorch {}{})", requested,
           torch_version(),
           torch::cuda::device_count() == 0 ? ", built without CUDA or no GPU" : "");
    return requested;
  }
  fail("unknown device '{}'; use auto, cpu, cuda or cuda:N", requested);
}

void synchronize_device(const std::string& device) {
  if (device.rfind("cuda", 0) == 0 && cuda_available()) {
    const torch::Device d(device);
    torch::cuda::synchronize(d.has_index() ? d.index() : -1);
  }
}

void seed_torch(uint64_t seed) {
  torch::manual_seed(seed);
  if (cuda_available()) torch::cuda::manual_seed_all(seed);
}

void set_torch_threads(int threads) {
  if (threads > 0) torch::set_num_threads(threads);
}

int torch_threads() { return torch::get_num_threads(); }

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

std::string caig_version() {
  return std::string(caig_project_version()) + " (" + caig_git_revision() + ")";
}

nlohmann::json environment_info(const std::string& device) {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  nlohmann::json j;
  j["caig_version"] = caig_project_version();
  j["git_revision"] = caig_git_revision();
  j["libtorch"] = torch_version();
  j["libtorch_cuda"] = torch::cuda::is_available();
  j["cuda_devices"] = torch::cuda::device_count();
  j["opencv"] = CV_VERSION;
#if defined(__clang__)
  j["compiler"] = std::string("clang ") + __clang_version__;
#else
  j["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  j["cplusplus"] = static_cast<int64_t>(__cplusplus);
  j["device"] = device;
  j["torch_threads"] = torch::get_num_threads();
  j["torch_interop_threads"] = torch::get_num_interop_threads();
  j["hardware_threads"] = std::thread::hardware_concurrency();
  j["hostname"] = host;
  j["parallel_info"] = at::get_parallel_info();
  j["blas"] = blas_info();
  return j;
}

}  // namespace caig
