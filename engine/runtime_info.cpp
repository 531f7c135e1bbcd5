#include "engine/runtime_info.h"

#include <cstdio>
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

// "512 B", "4.0 KiB", "1.5 MiB", "2.0 GiB".
std::string format_bytes(size_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = double(bytes) / 1024;
  int unit = 0;
  for (; value >= 1024 && unit < 3; ++unit) value /= 1024;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
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
  for (int i = 0; i < CudaAllocator::kMaxDevices; ++i)
    if (const CudaAllocator* a = CudaAllocator::existing(i))
      info.cuda_memory.push_back({i, a->stats()});
  return info;
}

std::string describe_cuda_memory(const CudaAllocatorStats& s) {
  return "allocated " + format_bytes(s.allocated_bytes) + ", reserved " +
         format_bytes(s.reserved_bytes) + " (" +
         format_bytes(s.reserved_bytes - s.allocated_bytes) + " cached), peak " +
         format_bytes(s.peak_allocated_bytes) + ", " + std::to_string(s.allocations) +
         " allocation" + (s.allocations == 1 ? "" : "s") + " (" + std::to_string(s.cache_hits) +
         " cache hit" + (s.cache_hits == 1 ? "" : "s") + ")";
}

void reset_cuda_peak_memory() {
  for (int i = 0; i < CudaAllocator::kMaxDevices; ++i)
    if (CudaAllocator::existing(i)) CudaAllocator::instance(i).reset_peak();
}

}  // namespace signet
