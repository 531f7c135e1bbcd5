// CPU single-precision GEMM in numbered versions (see GemmDesc for the problem):
//   v1 naive      ref::gemm (kernels/reference/gemm.h): three loops, double accumulator.
//   v2 blocked    loop tiling over (i, k, j) so tiles stay in cache; no packing; the compiler
//                 vectorises the inner loop. Measured 12 GFLOP/s on 1024^3, 1 thread (v1: 0.4).
//   v3 packed     A and B repacked into MR- and NR-wide panels (zero-padded, any transpose) in
//                 the caller's workspace, cache-blocked (KC, MC, NC fixed per SIMD path) and fed
//                 to an MR x NR register-tiled micro-kernel (AVX-512, AVX2+FMA or portable C++).
//                 Measured 130-139 GFLOP/s (CPU time) on 1024^3, 1 thread, AVX-512: ~80% of the
//                 FMA peak, 10x v2; the micro-kernel alone 94-99%. History: bench/RESULTS.md.
//   v4 shared     v3's packing and micro-kernels; threads split m and pack each KC x NC block of
//                 op(B) once between them into a shared buffer (one barrier per block, two
//                 buffers alternating); when m is short or n > 2 m they split n instead, each
//                 packing its own B columns (A once per KC block). The macro-kernel keeps an A
//                 sliver in L1 and streams B from L2 (NC 1024, MC 2x v3's). Measured 2026-12-01,
//                 AVX-512, 2 threads, one run, fastest of 7 repetitions at real-time priority on
//                 a loaded machine (load ~14): 1024^3 300 GFLOP/s = 86% of the FMA peak, 0.99x
//                 OpenBLAS, 1.09x v3; LSTM input projection 1.00x OpenBLAS, step 1.07x, weight
//                 gradient 1.82x (0.92x oneDNN). Figures to quote: a quiet rerun
//                 (bench/RESULTS.md).
// Kernels never allocate and never throw; shapes are checked by the caller.
#pragma once
#include <cstddef>

#include "kernels/common/gemm_desc.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// v2: C = alpha op(A) op(B) + beta C with tiled loops over up to `threads` OpenMP threads.
void sgemm_v2_blocked(const kernels::GemmDesc& d, const float* a, const float* b, float* c,
                      int threads);

// Bytes of scratch sgemm_v3_packed needs for d on up to `threads` threads (any SIMD path).
size_t sgemm_workspace_bytes(const kernels::GemmDesc& d, int threads);

// v3: the packed, blocked, register-tiled GEMM on `path` (which the CPU must support), using
// `workspace` (sgemm_workspace_bytes(d, threads) bytes) for the packed panels.
void sgemm_v3_packed(const kernels::GemmDesc& d, const float* a, const float* b, float* c,
                     void* workspace, int threads, SimdPath path);

// Bytes of scratch sgemm_v4_shared needs for d on up to `threads` threads (any SIMD path).
size_t sgemm_v4_workspace_bytes(const kernels::GemmDesc& d, int threads);

// v4: v3's packing and micro-kernels, but with the threads splitting m and packing each
// (KC, NC) block of op(B) once between them into a shared buffer (a barrier per block); when m
// is too short to split, each thread takes its own columns as in v3.
void sgemm_v4_shared(const kernels::GemmDesc& d, const float* a, const float* b, float* c,
                     void* workspace, int threads, SimdPath path);

}  // namespace signet::cpu
