// Fast CPU dropout, bit-identical to ref::dropout_forward (rule in kernels/common/dropout_desc.h):
//   v2 tiled  Philox for 32 consecutive blocks (128 units) at once, one SIMD lane per block in
//             4 independent chains (the rounds are latency-bound), on the path
//             cpu::active_simd_path() names (AVX-512, AVX2 or scalar); the keep test on the
//             integer (w >> 8) >= ceil(p 2^24) (exact: u = (w >> 8) 2^-24); the mask applied
//             without a branch; units split over OpenMP threads in whole tiles.
// The mask depends only on (seed, offset, unit), never on the thread count or chunking.
// Kernels never allocate and never throw; arguments are checked by the caller.
#pragma once
#include "kernels/common/dropout_desc.h"

namespace signet::cpu {

// v2: y[e] = keep(unit(first + e)) ? x[e] * scale : 0 on up to `threads` OpenMP threads.
template <class T>
void dropout_forward_v2(const kernels::DropoutDesc& d, const T* x, T* y, int threads);

}  // namespace signet::cpu
