// Packing and edge helpers shared by the packed SGEMMs (v3 gemm_packed.cpp, v4 gemm_shared.cpp,
// the pack-once gemm_prepacked.cpp):
// op(A) into MR-row slivers and op(B) into NR-column slivers, k-major and zero-padded, any
// transpose; the micro-kernels of gemm_microkernels.h read them.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/common/gemm_desc.h"
#include "kernels/cpu/gemm_microkernels.h"

namespace signet::cpu::gemm_detail {

// Below this many multiply-adds one thread is faster than waking the others.
constexpr int64_t kMinParallelWork = int64_t{1} << 20;

// x rounded up to a multiple of q.
inline int64_t round_up(int64_t x, int64_t q) {
  return (x + q - 1) / q * q;
}

// Writes element (row i, step l) of 16 rows (row i at src[i], kc steps) to out[l * ld + i] for
// i < lanes, 16 steps at a time through a 16 x 16 AVX-512 transpose; the CPU must have AVX-512F.
// With stream (lanes 16, out and ld 64-byte aligned) the 16-step blocks go out with streaming
// stores; the caller then runs fence_streamed_stores() before another thread reads out.
void interleave16(const float* const src[16], int64_t kc, float* out, int ld, int lanes,
                  bool stream = false);

// Copies kc rows of `width` floats (width a multiple of nr, nr of 16), row l at src + l * ld, to
// nr-column k-major slivers at out (sliver s at out + s * nr * kc) with streaming stores (out
// 64-byte aligned; the CPU must have AVX-512F; fence as for interleave16).
void copy_slivers_streamed(const float* src, int64_t ld, int64_t kc, int64_t width, int nr,
                           float* out);

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into MR-row slivers, k-major, zero-padded.
template <int MR>
void pack_a(const kernels::GemmDesc& d, const float* a, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float* out, bool avx512) {
  for (int64_t ir = 0; ir < mc; ir += MR, out += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
    if (d.trans_a) {
      const float* src = a + p0 * d.lda + i0 + ir;
      for (int64_t l = 0; l < kc; ++l, src += d.lda) {
        for (int i = 0; i < rows; ++i) out[l * MR + i] = src[i];
        for (int i = rows; i < MR; ++i) out[l * MR + i] = 0;
      }
    } else if (MR <= 16 && rows == MR && avx512) {
      const float* src[16];
      for (int i = 0; i < 16; ++i) src[i] = a + (i0 + ir + (i < MR ? i : 0)) * d.lda + p0;
      interleave16(src, kc, out, MR, MR);
    } else {
      for (int i = 0; i < rows; ++i) {
        const float* src = a + (i0 + ir + i) * d.lda + p0;
        for (int64_t l = 0; l < kc; ++l) out[l * MR + i] = src[l];
      }
      for (int i = rows; i < MR; ++i)
        for (int64_t l = 0; l < kc; ++l) out[l * MR + i] = 0;
    }
  }
}

// Packs sliver columns [j0, j0+cols) (cols <= NR) x rows [p0, p0+kc) of op(B) into one k-major
// NR-wide sliver at out, zero-padded past cols. With stream (a whole AVX-512 sliver of a
// transposed B, NR a multiple of 16, out 64-byte aligned) through interleave16's streaming
// stores.
template <int NR>
void pack_b_sliver(const kernels::GemmDesc& d, const float* b, int64_t p0, int64_t kc, int64_t j0,
                   int cols, float* out, bool avx512, bool stream = false) {
  if (d.trans_b && NR % 16 == 0 && cols == NR && avx512) {
    const float* src[16];
    for (int h = 0; h < NR / 16; ++h) {
      for (int j = 0; j < 16; ++j) src[j] = b + (j0 + 16 * h + j) * d.ldb + p0;
      interleave16(src, kc, out + 16 * h, NR, 16, stream);
    }
  } else if (d.trans_b) {
    for (int j = 0; j < cols; ++j) {
      const float* src = b + (j0 + j) * d.ldb + p0;
      for (int64_t l = 0; l < kc; ++l) out[l * NR + j] = src[l];
    }
    for (int j = cols; j < NR; ++j)
      for (int64_t l = 0; l < kc; ++l) out[l * NR + j] = 0;
  } else {
    const float* src = b + p0 * d.ldb + j0;
    for (int64_t l = 0; l < kc; ++l, src += d.ldb) {
      for (int j = 0; j < cols; ++j) out[l * NR + j] = src[j];
      for (int j = cols; j < NR; ++j) out[l * NR + j] = 0;
    }
  }
}

// Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into NR-column slivers, zero-padded. A
// row-major B is walked row by row (each row read once, front to back, which the hardware
// prefetchers follow), a transposed one sliver by sliver (16 rows of B^T read side by side).
// With stream (NR a multiple of 16 on AVX-512, out 64-byte aligned) the whole slivers go out with
// streaming stores, a last narrower one as usual; the caller fences as for interleave16.
template <int NR>
void pack_b(const kernels::GemmDesc& d, const float* b, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, float* out, bool avx512, bool stream = false) {
  const int64_t full = nc / NR * NR;
  stream = stream && NR % 16 == 0 && avx512;
  if (d.trans_b) {
    for (int64_t jr = 0; jr < full; jr += NR)
      pack_b_sliver<NR>(d, b, p0, kc, j0 + jr, NR, out + jr * kc, avx512, stream);
  } else if (stream) {
    copy_slivers_streamed(b + p0 * d.ldb + j0, d.ldb, kc, full, NR, out);
  } else {
    const float* src = b + p0 * d.ldb + j0;
    for (int64_t l = 0; l < kc; ++l, src += d.ldb)
      for (int64_t jr = 0; jr < full; jr += NR)
        for (int j = 0; j < NR; ++j) out[jr * kc + l * NR + j] = src[jr + j];
  }
  if (full < nc)
    pack_b_sliver<NR>(d, b, p0, kc, j0 + full, static_cast<int>(nc - full), out + full * kc,
                      avx512);
}

// C[0:rows, 0:cols] = alpha * t + beta * C from an MR x NR tile t (row stride nr).
inline void store_edge(const float* t, int nr, int rows, int cols, float* c, int64_t ldc,
                       float alpha, float beta) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      c[i * ldc + j] = alpha * t[i * nr + j] + (beta == 0 ? 0.0f : beta * c[i * ldc + j]);
}

// The rows x cols tile of C at c (at most MR x NR) from an A and a B sliver: the micro-kernel
// straight into C when the tile is whole or the path has a kernel for its rows or its columns
// (a multiple of 16), else the narrowest kernel that covers it into scratch and its corner
// stored.
inline void multiply_tile(const Blocking& bl, int64_t kc, const float* a, const float* b, float* c,
                          int64_t ldc, float alpha, float beta, int rows, int cols) {
  if (cols == bl.nr && rows == bl.mr) return bl.kernel(kc, a, b, c, ldc, alpha, beta);
  if (cols == bl.nr && bl.few_rows[rows]) return bl.few_rows[rows](kc, a, b, c, ldc, alpha, beta);
  const int vecs = (cols + 15) / 16;
  const MicroKernel narrow = rows == bl.mr && vecs < bl.nr / 16 ? bl.narrow[vecs] : nullptr;
  if (narrow && cols % 16 == 0) return narrow(kc, a, b, c, ldc, alpha, beta);
  alignas(64) float edge[kMaxMr * kMaxNr];
  (narrow ? narrow : bl.kernel)(kc, a, b, edge, bl.nr, 1.0f, 0.0f);
  store_edge(edge, bl.nr, rows, cols, c, ldc, alpha, beta);
}

// C[m0:m1, n0:n1] = beta * C (the whole product when k == 0); beta == 0 never reads C.
inline void scale_c(float* c, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                    float beta) {
  for (int64_t i = m0; i < m1; ++i)
    for (int64_t j = n0; j < n1; ++j) c[i * ldc + j] = beta == 0 ? 0.0f : beta * c[i * ldc + j];
}

}  // namespace signet::cpu::gemm_detail
