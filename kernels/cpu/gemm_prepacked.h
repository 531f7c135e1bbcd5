// Pack-once / multiply-many SGEMM for products that reuse one B operand many times (the LSTM's
// recurrent step: h W_hh^T forward and dG W_hh backward, once per time step on the same W_hh).
// sgemm_v3_packed (gemm.h) repacks B on every call; here op(B) is packed once by sgemm_pack_b
// into the KC x NR slivers of the path's micro-kernel (gemm_microkernels.h) and every later
// sgemm_prepacked call only packs its (small) A. Packing uses the packed SGEMM's helpers
// (gemm_pack.h: a transposed B goes through 16 x 16 AVX-512 transposes). Layout of the packed B,
// for k-block p (rows [p KC, p KC + kc) of op(B), kc = min(KC, k - p KC)) and sliver s (columns [s
// NR, s NR + NR), zero-padded past n): kc x NR floats, row-major, at offset p KC n_pad + s NR kc,
// where n_pad = n rounded up to NR. Measured on the L1 recurrent step (32 x 4096 x 1024, W^T,
// AVX-512, 1 thread, thread CPU time, loaded machine): 2.6-3.0 ms per product (v3: 4.1 ms); one
// pack: bench_rnn lstm_step/.../pack (bench/RESULTS.md). Streaming the 16 MiB packed B costs ~15%:
// 90-100 GFLOP/s there against 113 GFLOP/s on a 4 MiB one (n = k = 1024). Kernels never allocate
// and never throw; shapes are checked by the caller.
// The transposed variant (sgemm_pack_bt / sgemm_prepacked_t) computes C^T = op(B)^T op(A)^T:
// op(B)^T is packed once as the A operand (MR-row slivers of the n direction, k-major, sliver r =
// k x MR floats at offset r MR k, zero-padded past n), op(A)^T is packed per call as the B
// operand (NR-column slivers over m) and each MR x NR tile is transposed into C. For m = 32 (the
// LSTM's batch) on the 12 x 32 AVX-512 tile it computes 32 rows instead of 36. Measured on the
// L1 step products (bench_rnn lstm_step, 1 thread, load 2.3-3.5 on 2 cores): forward 1.80-1.94
// ms (sgemm_prepacked 2.19), backward 1.76-2.10 ms (2.18-2.21); AVX2 path 4.1-4.2 ms (5.3).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/gemm_desc.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// Floats of the packed op(B) of d (its k, n) on `path`.
size_t sgemm_packed_b_floats(const kernels::GemmDesc& d, SimdPath path);

// Packs op(B) of d (k, n, trans_b, ldb; one batch item) into `packed`
// (sgemm_packed_b_floats(d, path) floats, 64-byte aligned) on up to `threads` threads.
void sgemm_pack_b(const kernels::GemmDesc& d, const float* b, float* packed, int threads,
                  SimdPath path);

// Bytes of scratch sgemm_prepacked needs for d on up to `threads` threads (the packed A panels).
size_t sgemm_prepacked_workspace_bytes(const kernels::GemmDesc& d, int threads, SimdPath path);

// C = alpha op(A) op(B) + beta C (one batch item; m, k, trans_a, lda, ldc, alpha, beta of d) with
// op(B) from sgemm_pack_b(d-with-the-same-k-and-n, ..., path), on up to `threads` threads.
void sgemm_prepacked(const kernels::GemmDesc& d, const float* a, const float* packed_b, float* c,
                     void* workspace, int threads, SimdPath path);

// Floats of op(B) of d (its k, n) packed by sgemm_pack_bt on `path`.
size_t sgemm_packed_bt_floats(const kernels::GemmDesc& d, SimdPath path);

// Packs op(B)^T of d (k, n, trans_b, ldb) into MR-row slivers at `packed`
// (sgemm_packed_bt_floats(d, path) floats, 64-byte aligned) on up to `threads` threads.
void sgemm_pack_bt(const kernels::GemmDesc& d, const float* b, float* packed, int threads,
                   SimdPath path);

// Bytes of scratch sgemm_prepacked_t needs for d on up to `threads` threads (op(A)^T packed).
size_t sgemm_prepacked_t_workspace_bytes(const kernels::GemmDesc& d, int threads, SimdPath path);

// C = alpha op(A) op(B) + beta C as sgemm_prepacked, with op(B) from sgemm_pack_bt.
void sgemm_prepacked_t(const kernels::GemmDesc& d, const float* a, const float* packed_bt, float* c,
                       void* workspace, int threads, SimdPath path);

// True when the transposed product computes fewer padded tile elements than sgemm_prepacked
// (round_up(n, MR) round_up(m, NR) < round_up(m, MR) round_up(n, NR)) on `path`.
bool sgemm_prepacked_t_pads_less(const kernels::GemmDesc& d, SimdPath path);

// C[0:cols, 0:rows] = T^T + beta C for the rows x cols micro-kernel tile T (row stride nr, rows <=
// 16, cols <= 32); beta == 0 never reads C. The transposed products' store, shared with the fused
// LSTM steps (lstm_steps.h).
void sgemm_add_tile_transposed(const float* tile, int nr, int rows, int cols, float* c, int64_t ldc,
                               float beta, bool avx512);

}  // namespace signet::cpu
