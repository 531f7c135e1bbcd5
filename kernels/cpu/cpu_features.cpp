#include "kernels/cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace signet::cpu {

// Asks cpuid once; non-x86 builds have only the portable path.
SimdPath detect_simd_path() {
#if defined(__x86_64__) || defined(__i386__)
  static const SimdPath detected = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
      return SimdPath::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdPath::avx2;
    return SimdPath::portable;
  }();
  return detected;
#else
  return SimdPath::portable;
#endif
}

// Honours SIGNET_SIMD when valid and supported; the engine reports invalid values.
SimdPath active_simd_path() {
  SimdPath requested;
  if (parse_simd_path(std::getenv("SIGNET_SIMD"), &requested) && simd_path_supported(requested))
    return requested;
  return detect_simd_path();
}

// Matches the exact lower-case names.
bool parse_simd_path(const char* name, SimdPath* out) {
  if (name == nullptr) return false;
  for (SimdPath p : {SimdPath::portable, SimdPath::avx2, SimdPath::avx512}) {
    if (std::strcmp(name, simd_path_name(p)) == 0) {
      *out = p;
      return true;
    }
  }
  return false;
}

// Paths are ordered, so a CPU runs every path up to the detected one.
bool simd_path_supported(SimdPath path) {
  return static_cast<int>(path) <= static_cast<int>(detect_simd_path());
}

std::vector<SimdPath> supported_simd_paths() {
  std::vector<SimdPath> out;
  for (SimdPath p : {SimdPath::portable, SimdPath::avx2, SimdPath::avx512})
    if (simd_path_supported(p)) out.push_back(p);
  return out;
}

// Names used by SIGNET_SIMD, `signet info` and the profiler.
const char* simd_path_name(SimdPath path) {
  switch (path) {
    case SimdPath::portable:
      return "portable";
    case SimdPath::avx2:
      return "avx2";
    case SimdPath::avx512:
      return "avx512";
  }
  return "portable";
}

}  // namespace signet::cpu
