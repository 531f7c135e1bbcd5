// The register-tiled micro-kernels of sgemm_v3_packed, one per SIMD path, and their blocking.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace signet::cpu::gemm_detail {

// C[0:MR, 0:NR] (row stride ldc) = alpha * sum over kc of a-sliver x b-sliver + beta * C, where
// the a sliver holds MR values per k step and the b sliver NR; beta == 0 never reads C.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             float alpha, float beta);

// The largest register tile of any path (for edge-tile scratch on the stack).
constexpr int kMaxMr = 12, kMaxNr = 48;

// A path's micro-kernel and its blocking: MR x NR register tile; KC x NR of B stays in L1,
// MC x KC of A in L2, KC x NC of B in L3.
struct Blocking {
  int mr, nr, kc, mc, nc;
  MicroKernel kernel;
  MicroKernel kernel_stream_a;  // the same tile, for an A sliver streamed once from memory
  bool avx512;                  // the packing routines may use AVX-512 too
  // few_rows[r]: the tile cut to its first r rows (A still MR-strided; nullptr where a path has
  // none), for a last sliver of r < MR rows, so that it costs r rows of FMAs rather than MR.
  MicroKernel few_rows[kMaxMr + 1] = {};
  // narrow[v]: the tile cut to its first 16 v columns (B still NR-strided; nullptr where a path
  // has none), for a last sliver that narrow, so that it costs v vectors of FMAs rather than all.
  MicroKernel narrow[kMaxNr / 16] = {};
  // The whole tile for beta == 0 whose C is written with streaming stores, past the caches and
  // without reading its lines first (rows 64-byte aligned; nullptr where a path has none); the
  // caller runs fence_streamed_stores() before C is read by another thread.
  MicroKernel kernel_stream_c = nullptr;
};

// v4's blocking on `path`: the AVX-512 8 x 48 tile (B's sliver reused against the A slivers of a
// row chunk); blocking_for(path) on the other paths.
Blocking wide_blocking_for(SimdPath path);

// Orders this thread's streaming stores before its later stores (x86 sfence; nothing elsewhere).
void fence_streamed_stores();

// The blocking and micro-kernel of `path` (which must be compiled in and supported).
Blocking blocking_for(SimdPath path);

}  // namespace signet::cpu::gemm_detail
