// What this build of Signet is and what it found on this machine (`signet info`).
#pragma once
#include <string>
#include <vector>

#include "engine/cuda_allocator.h"

namespace signet {

// The caching-allocator counters of one cuda device.
struct CudaMemoryInfo {
  int device = 0;
  CudaAllocatorStats stats;
};

// Build facts (version, compiler, options) and run-time facts (SIMD path, threads, GPUs).
struct RuntimeInfo {
  std::string version;
  std::string compiler;
  std::string build_type;
  std::string simd_path;      // the path the CPU kernels take (SIGNET_SIMD or detected)
  std::string simd_detected;  // the widest path this CPU supports
  int threads = 1;
  bool openmp = false;
  bool cuda_built = false;
  int cuda_devices = 0;
  std::string cuda_error;  // why no device was found, when cuda_devices is 0
  std::vector<std::string> cuda_device_names;
  std::vector<CudaMemoryInfo> cuda_memory;  // devices this process has allocated on
};

// Collects the RuntimeInfo; throws signet::Error when SIGNET_SIMD names an unknown path or one
// this CPU lacks.
RuntimeInfo runtime_info();
// "allocated 4.0 KiB, reserved 8.0 KiB (4.0 KiB cached), peak 6.0 KiB, 3 allocations (1 cache
// hit)": one device's counters for a log line.
std::string describe_cuda_memory(const CudaAllocatorStats& stats);
// Sets the peak of every cuda allocator in use back to its allocated bytes (to measure the peak
// of one phase, such as one epoch).
void reset_cuda_peak_memory();

}  // namespace signet
