// CPU single-precision GEMM in numbered versions (see GemmDesc for the problem):
//   v1 naive      ref::gemm (kernels/reference/gemm.h): three loops, double accumulator.
//   v2 blocked    loop tiling over (i, k, j) so tiles stay in cache; no packing; the compiler
//                 vectorises the inner loop. Measured 12 GFLOP/s on 1024^3, 1 thread (v1: 0.4).
//   v3 packed     A and B repacked into MR- and NR-wide panels (zero-padded, any transpose) in
//                 the caller's workspace, cache-blocked (KC, MC, NC fixed per SIMD path) and fed
//                 to an MR x NR register-tiled micro-kernel (AVX-512, AVX2+FMA or portable C++).
//                 Measured 130-139 GFLOP/s (CPU time) on 1024^3, 1 thread, AVX-512: ~80% of the
//                 FMA peak, 10x v2; the micro-kernel alone 94-99%. History: bench/RESULTS.md.
//                 A last sliver of fewer than 12 rows runs the AVX-512 tile cut to its rows
//                 instead of 12 rows into scratch (1024 and 640 rows end in 4: 1024^3 and the input
//                 projection 1.002-1.016x, alternated per call, t2; v3, v4 and the pre-packed
//                 product share it: gemm_pack.h multiply_tile).
//   v4 shared     v3's packing and micro-kernels; threads pack each KC x NC block of op(B)
//                 once between them into a shared buffer (two alternating) and claim 2-sliver
//                 chunks of m, half the threads from the top of each block and half from the
//                 bottom (the faster core takes more, and each mostly keeps its rows of C from
//                 block to block: 1024^3 1.02x when the vCPUs sit apart, Zen 5 guest); when m is
//                 short or n > 2 m they claim chunks of n instead, each packing its chunks' B
//                 and the A blocks it reaches over up to 4 KC blocks of k, whose sums a tile of
//                 C takes back to back while it is in L1 (C read and written once per 1024
//                 steps, not per 256: 1.04-1.06x on such shapes, Zen 5 guest, t2; the same sums
//                 as sharing B, bit for bit). No barriers: a claim waits only for what it
//                 reads (gemm_shared.cpp). The macro-kernel keeps an A sliver in L1 and streams
//                 B from L2 (NC 1024, MC 2x v3's). On AVX-512 with 2+ threads each piece of
//                 a shared B block is packed with ordinary or streaming stores, whichever
//                 timing of recent pieces shows cheaper (gemm_store_choice.h: when the cores
//                 sit under different L3s, rewriting lines both have read is slow; 1024^3
//                 1.02-1.03x then, Zen 5 guest, 2026-12-02). Measured 2026-12-01 (with barriers),
//                 AVX-512, 2 threads, one run, fastest of 7 repetitions at real-time priority on
//                 a loaded machine (load ~14): 1024^3 300 GFLOP/s = 86% of the FMA peak, 0.99x
//                 OpenBLAS, 1.09x v3; LSTM input projection 1.00x OpenBLAS, step 1.07x, weight
//                 gradient 1.82x (0.92x oneDNN). Figures to quote: a quiet rerun
//                 (bench/RESULTS.md).
//   v5 direct B   for a short op(A) (the LSTM step's X W^T): op(B) is read where it is stored,
//                 never packed (v4 packs all of W^T, 16 MiB read and written, for 32 rows of
//                 use). AVX-512 with op(B) transposed: 4 x 6 dot-product tiles along k, the sums
//                 reduced once per tile; a transposed A is copied row-major first. Other paths
//                 and transposes: the same tiles in plain loops (correct, not fast; the rule
//                 sgemm_v5_suits keeps the engine off them). Expected on the LSTM step from
//                 v4's parts: ~2x at 1 thread (v4 4.1 ms of which ~2 ms packing W^T; the
//                 pre-packed product 1.9 ms). Measured 2026-12-01, AVX-512, loaded machine
//                 (load 2-6): 1 thread 2.2-3.0 ms (91-119 GFLOP/s; OpenBLAS 71, v4 57-66),
//                 2 threads 1.56 ms (172 GFLOP/s; OpenBLAS 101, v4 130). Quiet figures:
//                 bench/RESULTS.md.
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

// How v4 splits the work between threads: by its rule (m long enough and n <= 2 m: shared B),
// or forced to one split (for bench_gemm's side-by-side runs, `v4_own_columns`).
enum class V4Split { by_rule, shared_b, own_columns };

// The most rows of C one thread claims at a time in v4's shared-B split (a multiple of every
// path's MR).
constexpr int64_t kV4MaxChunkRows = 96;

// Rows of C one thread of `threads` claims at a time in v4's shared-B split of d:
// kV4MaxChunkRows, fewer (down to 24) where that would give a thread fewer than six chunks.
int64_t sgemm_v4_chunk_rows(const kernels::GemmDesc& d, int threads);

// How v4 writes the packed B blocks its threads share: ordinary or streaming stores as timing
// shows cheaper (automatic; gemm_store_choice.h), or one kind forced (tests, bench_gemm).
enum class BStores { automatic, cached, streamed };

// v4: v3's packing, with the threads splitting m and packing each (KC, NC) block of op(B) once
// between them into a shared buffer; when m is too short to split, each thread takes its own
// columns as in v3. Work is claimed, without barriers. Its macro-kernel runs each B sliver
// against a row chunk's A slivers, on AVX-512 with an 8 x 48 tile (v3: 12 x 32). `stores`: how
// the shared B blocks are written on AVX-512 (automatic: timed per piece, on 2+ threads; see
// gemm_store_choice.h); the sums are the same bit for bit either way.
void sgemm_v4_shared(const kernels::GemmDesc& d, const float* a, const float* b, float* c,
                     void* workspace, int threads, SimdPath path, V4Split mode = V4Split::by_rule,
                     BStores stores = BStores::automatic);

// Whether sgemm_v4_shared writes the C of d at c with streaming stores, past the caches: beta 0,
// k within one KC block (each tile written once, never read), C of at least 4 MiB, its rows and
// batch items 64-byte aligned, on a path with a streaming kernel (AVX-512); tiles at C's edges
// are stored as usual.
bool sgemm_v4_streams_c(const kernels::GemmDesc& d, const float* c, SimdPath path);

// Bytes of scratch sgemm_v5_direct_b needs for d on up to `threads` threads (any SIMD path).
size_t sgemm_v5_workspace_bytes(const kernels::GemmDesc& d, int threads);

// Whether the engine runs v5 for d on `path`: AVX-512, one product, op(B) transposed, m <= 64,
// k >= 128.
bool sgemm_v5_suits(const kernels::GemmDesc& d, SimdPath path);

// v5: C = alpha op(A) op(B) + beta C without packing op(B); threads split n. Any shape,
// transpose and path (fast on AVX-512 with op(B) transposed, see sgemm_v5_suits).
void sgemm_v5_direct_b(const kernels::GemmDesc& d, const float* a, const float* b, float* c,
                       void* workspace, int threads, SimdPath path);

}  // namespace signet::cpu
