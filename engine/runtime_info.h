// What this build of Signet is and what it found on this machine (`signet info`).
#pragma once
#include <string>
#include <vector>

namespace signet {

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
};

// Collects the RuntimeInfo; throws signet::Error when SIGNET_SIMD names an unknown path or one
// this CPU lacks.
RuntimeInfo runtime_info();

}  // namespace signet
