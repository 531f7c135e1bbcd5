#include "engine/runtime_info.h"

#include <cstdlib>

#include "engine/error.h"
#include "kernels/cpu/cpu_features.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif
#ifdef SIGNET_WITH_CUDA
#include "kernels/cuda/device_query.h"
#endif

namespace signet {
namespace {

// The compiler that built the engine, with its version.
std::string compiler_name() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown";
#endif
}

// Validates SIGNET_SIMD (unset or empty means the detected path) and returns the active path.
cpu::SimdPath checked_simd_path() {
  const char* env = std::getenv("SIGNET_SIMD");
  if (env == nullptr || *env == '\0') return cpu::active_simd_path();
  cpu::SimdPath requested;
  SIGNET_CHECK(cpu::parse_simd_path(env, &requested), "SIGNET_SIMD='", env,
               "' is not a SIMD path; valid names: portable, avx2, avx512");
  SIGNET_CHECK(cpu::simd_path_supported(requested), "SIGNET_SIMD='", env,
               "' is not supported by this CPU (widest supported: ",
               cpu::simd_path_name(cpu::detect_simd_path()), ")");
  return requested;
}

}  // namespace

// Gathers build facts from compile definitions and run-time facts from the machine.
RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.version = SIGNET_VERSION;
  info.compiler = compiler_name();
  info.build_type = SIGNET_BUILD_TYPE;
  info.simd_path = cpu::simd_path_name(checked_simd_path());
  info.simd_detected = cpu::simd_path_name(cpu::detect_simd_path());
#ifdef SIGNET_WITH_OPENMP
  info.openmp = true;
  info.threads = omp_get_max_threads();
#endif
#ifdef SIGNET_WITH_CUDA
  info.cuda_built = true;
  info.cuda_devices = cuda::device_count(&info.cuda_error);
  for (int i = 0; i < info.cuda_devices; ++i)
    info.cuda_device_names.push_back(cuda::device_name(i));
#endif
  return info;
}

}  // namespace signet
