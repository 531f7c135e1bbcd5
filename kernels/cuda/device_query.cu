#include "kernels/cuda/cuda_compat.h"

#include "kernels/cuda/device_query.h"

namespace signet::cuda {
namespace {

// Says why no device can be used; a missing driver reads as "insufficient" in cudart's words.
std::string describe(cudaError_t status) {
  if (status == cudaErrorInsufficientDriver)
    return "no CUDA driver, or one older than CUDA runtime " +
           std::to_string(CUDART_VERSION / 1000) + "." +
           std::to_string(CUDART_VERSION % 1000 / 10) + " needs";
  return std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
}

}  // namespace

// cudaGetDeviceCount reports a missing driver or GPU as an error code, never a crash.
int device_count(std::string* error) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (error) *error = describe(status);
    cudaGetLastError();
    return 0;
  }
  if (error) error->clear();
  return count;
}

// Reads the device properties for their name.
std::string device_name(int i) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
    cudaGetLastError();
    return {};
  }
  return prop.name;
}

}  // namespace signet::cuda
