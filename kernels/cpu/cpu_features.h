// Which SIMD path the CPU kernels take: detected from cpuid, optionally narrowed by SIGNET_SIMD.
#pragma once
#include <vector>

namespace signet::cpu {

// The instruction-set paths of the CPU kernels, narrowest first.
enum class SimdPath { portable, avx2, avx512 };

// The widest path this CPU supports (avx512 needs F, BW, VL and DQ; avx2 needs AVX2 and FMA).
SimdPath detect_simd_path();
// The path the kernels use: SIGNET_SIMD when it names a path the CPU supports, else detected.
SimdPath active_simd_path();
// Parses "portable", "avx2" or "avx512" into *out; false (and *out untouched) for anything else.
bool parse_simd_path(const char* name, SimdPath* out);
// True when this CPU can run `path`.
bool simd_path_supported(SimdPath path);
// Every path this CPU can run, narrowest first (tests run each kernel on each).
std::vector<SimdPath> supported_simd_paths();
// The name of a path ("portable", "avx2", "avx512").
const char* simd_path_name(SimdPath path);

}  // namespace signet::cpu
