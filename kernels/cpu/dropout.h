// Fast CPU dropout, bit-identical to ref::dropout_forward (rule in kernels/common/dropout_desc.h):
//   v2 tiled  Philox for 32 consecutive blocks (256 units: 8 16-bit half-words a block) at
//             once, one SIMD lane per block in 4 independent chains (the rounds are
//             latency-bound), on the path cpu::active_simd_path() names (AVX-512, AVX2 or
//             scalar); the keep test h >= ceil(p 2^16) as unsigned 16-bit compares on the halves
//             of each word; the mask applied without a branch; units split over OpenMP threads
//             in whole tiles.
//   v3 simd   the AVX-512 Philox of v2 (8 blocks per vector in 64-bit lanes: a 16 x 32-bit
//             layout needs the same multiplies plus two permutes per product), but the keep
//             test as masked 16-bit compares into 64 keep bits a chain that drive masked
//             multiplies (vmulps{z}) directly: no byte mask written and re-read; hi(p) by a
//             lane-half swap (port 5) instead of a shift (port 0, shared with vpmuludq);
//             outputs of 64 MiB or more stored non-temporally; x prefetched 8 tiles ahead.
//             Other paths run v2.
// The mask depends only on (seed, offset, unit), never on the thread count or chunking.
// Kernels never allocate and never throw; arguments are checked by the caller.
#pragma once
#include "kernels/common/dropout_desc.h"

namespace signet::cpu {

// v2: y[e] = keep(unit(first + e)) ? x[e] * scale : 0 on up to `threads` OpenMP threads.
template <class T>
void dropout_forward_v2(const kernels::DropoutDesc& d, const T* x, T* y, int threads);

// v3: the same result as v2 (bit for bit) on the AVX-512 path; v2 on the others.
template <class T>
void dropout_forward_v3(const kernels::DropoutDesc& d, const T* x, T* y, int threads);

}  // namespace signet::cpu
