// Micro-kernels of the packed SGEMM: AVX-512 12x32 and 8x48, AVX2+FMA 6x16 and portable C++ 4x16
// tiles.
#include "kernels/cpu/gemm_microkernels.h"

#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu::gemm_detail {
namespace {

// Plain loops over a flat accumulator array, B's k-row copied first so that the compiler sees no
// aliasing and keeps acc in vector registers (a 2-d acc[MR][NR] made GCC 12 spill: 3 GFLOP/s).
template <int MR, int NR>
void kernel_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                     float beta) {
  float acc[MR * NR] = {};
  for (int64_t l = 0; l < kc; ++l, a += MR, b += NR) {
    float bl[NR];
    for (int j = 0; j < NR; ++j) bl[j] = b[j];
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < NR; ++j) acc[i * NR + j] += ai * bl[j];
    }
  }
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0) {
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i * NR + j];
    } else {
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i * NR + j] + beta * ci[j];
    }
  }
}

#if defined(__x86_64__)
// 6 rows x 2 ymm: 12 accumulators, 2 B loads and 6 broadcasts per k step. Named accumulators:
// with an array GCC 12 stored all 12 to the stack on every k step (46 GFLOP/s on 1024^3).
__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t kc, const float* a, const float* b,
                                                     float* c, int64_t ldc, float alpha,
                                                     float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t l = 0; l < kc; ++l, a += 6, b += 16) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);
  }
  const __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  for (int i = 0; i < 6; ++i) {
    float* ci = c + i * ldc;
    for (int h = 0; h < 2; ++h) {
      __m256 r = _mm256_mul_ps(va, acc[i][h]);
      if (beta != 0) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8 * h), r);
      _mm256_storeu_ps(ci + 8 * h, r);
    }
  }
}

// R rows of a 12-row A sliver x 2 zmm (R = 12; fewer for a last sliver that short): 2R
// accumulators, 2 B loads and R broadcast FMAs per k step. Prefetches this tile of C and the next
// one to its right, and B 8 k steps ahead, running on into the next sliver (written for v4's walk
// of C row band by row band with B streamed from L2, v4's order until 2026-12-02; v3, the
// pre-packed GEMM and the LSTM steps run it now). With kAheadA > 0 also A kAheadA k
// steps ahead into L2: for an A sliver read once from memory (the fused LSTM steps' W_hh, 16 MiB
// a step for H = 1024), which the hardware prefetchers alone left the FMAs waiting on (64 steps =
// 3 KiB ahead: L1's forward and backward steps 10-14% faster at t1 and t2, a scratch driver
// alternating the two kernels call by call). With kStreamC, beta == 0 writes C with streaming
// stores and C is not prefetched: a store to a line not in cache first reads it (twice the
// memory traffic), which a C that is only written, and too large to stay in cache, does not need.
template <int R, int kAheadA, bool kStreamC = false>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void kernel_avx512(
    int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  constexpr int MR = 12;
  __m512 acc[R][2];
  const float* row = c;
  for (int i = 0; i < R; ++i, row += ldc) {
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    if constexpr (kStreamC) continue;
    _mm_prefetch(reinterpret_cast<const char*>(row), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(row + 16), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(row + 32), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(row + 48), _MM_HINT_T0);
  }
  for (int64_t l = 0; l < kc; ++l, a += MR, b += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 256), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 272), _MM_HINT_T0);
    if constexpr (kAheadA > 0)
      _mm_prefetch(reinterpret_cast<const char*>(a + kAheadA * MR), _MM_HINT_T1);
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    for (int i = 0; i < R; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  // Unrolled, one branch per beta case, walking C row by row: so acc stays in registers (a
  // rolled loop with the beta test inside made GCC 12 store all 24 accumulators to the stack).
  // alpha == 1 skips its 2R multiplies (exact either way; 768 FMAs per call when kc = 32).
  if (alpha != 1) {
    const __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) {
      acc[i][0] = _mm512_mul_ps(va, acc[i][0]);
      acc[i][1] = _mm512_mul_ps(va, acc[i][1]);
    }
  }
  if (beta == 0) {
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i, c += ldc) {
      if constexpr (kStreamC) {
        _mm512_stream_ps(c, acc[i][0]);
        _mm512_stream_ps(c + 16, acc[i][1]);
      } else {
        _mm512_storeu_ps(c, acc[i][0]);
        _mm512_storeu_ps(c + 16, acc[i][1]);
      }
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i, c += ldc) {
      _mm512_storeu_ps(c, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c), acc[i][0]));
      _mm512_storeu_ps(c + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16), acc[i][1]));
    }
  }
}

// R rows of an 8-row A sliver x V zmm of a 48-wide B sliver (R = 8, V = 3 for a whole tile):
// 3R accumulators, V B loads and R broadcasts per k step (oneDNN's AVX-512 SGEMM tile, 48 x 8 in
// its column-major terms). v4 runs each B sliver against the A slivers of a row chunk, so B
// comes from L1 or L2 while A streams past it, prefetched 32 k steps (1 KiB) ahead. Against v4
// with the 12 x 32 tile (A's sliver outer, B's block streamed), alternated call by call, Zen 5
// guest, 2026-12-02 (bench/RESULTS.md): 1024^3 1.01-1.03x at t1, 0.99x at t2; the LSTM input
// projection 640x4096x1024 (B transposed) 1.085x at t2, the LSTM step 1.05x, the weight
// gradient 1.03x (1.07x at t1). kStreamC as in kernel_avx512.
template <int R, int V, bool kStreamC = false>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,prfchw"))) void kernel_avx512_wide(
    int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  constexpr int MR = 8, NR = 48;
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();
  // C's lines for writing, one a step over the last 32 steps (oneDNN's timing): v4 walks C down
  // a column band, and with 4 KiB between C's rows (ldc 1024) every tile's lines fall in the
  // same few L1 sets, where lines fetched at the start were pushed out by the end.
  const int64_t late = kc > 32 ? kc - 32 : 0;
  for (int64_t l = 0; l < kc; ++l, a += MR, b += NR) {
    if constexpr (!kStreamC)
      if (l >= late && l - late < R * V)
        _m_prefetchw(c + (l - late) / V * ldc + 16 * ((l - late) % V));
    // One line of A every other step: 8 floats a step.
    if ((l & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(a + 32 * MR), _MM_HINT_T0);
    __m512 bv[V];
    for (int v = 0; v < V; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
    for (int i = 0; i < R; ++i) {
      __m512 ai = _mm512_set1_ps(a[i]);
      // Keeps the broadcast a separate instruction: with one use (V = 1) GCC folds it into the
      // FMA as {1to16}, which Zen 5 runs far slower (bench/RESULTS.md, 2026-12-02).
      asm("" : "+v"(ai));
      for (int v = 0; v < V; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  // Unrolled, as kernel_avx512's, so that acc stays in registers.
  if (alpha != 1) {
    const __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
      for (int v = 0; v < V; ++v) acc[i][v] = _mm512_mul_ps(va, acc[i][v]);
  }
  if (beta == 0) {
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i, c += ldc)
      for (int v = 0; v < V; ++v) {
        if constexpr (kStreamC) {
          _mm512_stream_ps(c + 16 * v, acc[i][v]);
        } else {
          _mm512_storeu_ps(c + 16 * v, acc[i][v]);
        }
      }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i, c += ldc)
      for (int v = 0; v < V; ++v)
        _mm512_storeu_ps(c + 16 * v, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16 * v), acc[i][v]));
  }
}

// The wide tile's few_rows (r = 1..7, all three vectors) and narrow (1 and 2 vectors, all rows).
template <int... R>
void set_wide_edges(Blocking& bl, std::integer_sequence<int, R...>) {
  ((bl.few_rows[R + 1] = &kernel_avx512_wide<R + 1, 3>), ...);
  bl.narrow[1] = &kernel_avx512_wide<8, 1>;
  bl.narrow[2] = &kernel_avx512_wide<8, 2>;
}

// few_rows[r] = the AVX-512 tile cut to r rows, for r = 1..11. Even r = 1 (2 FMA chains, so
// latency-bound at 4 cycles a k step) beats the 12-row tile's 12 cycles a step.
template <int... R>
void set_few_rows_avx512(Blocking& bl, std::integer_sequence<int, R...>) {
  ((bl.few_rows[R + 1] = &kernel_avx512<R + 1, 0>), ...);
}
#endif

}  // namespace

// Constants chosen for 48 KiB L1d / 2 MiB L2 per core (the Xeon bench machine); on an AMD EPYC
// Zen 5 guest (48 KiB L1d, 1 MiB L2) the alternatives tried were no faster (gemm_shared.cpp).
Blocking blocking_for(SimdPath path) {
#if defined(__x86_64__)
  if (path == SimdPath::avx512) {
    Blocking bl{12, 32, 256, 480, 2048, &kernel_avx512<12, 0>, &kernel_avx512<12, 64>, true};
    set_few_rows_avx512(bl, std::make_integer_sequence<int, 11>());
    bl.kernel_stream_c = &kernel_avx512<12, 0, true>;
    return bl;
  }
  if (path == SimdPath::avx2) return {6, 16, 256, 480, 2048, &kernel_avx2, &kernel_avx2, false};
#endif
  (void)path;
  return {4, 16, 256, 256, 1024, &kernel_portable<4, 16>, &kernel_portable<4, 16>, false};
}

// See gemm_microkernels.h.
Blocking wide_blocking_for(SimdPath path) {
#if defined(__x86_64__)
  if (path == SimdPath::avx512) {
    Blocking bl{8, 48, 256, 480, 2048, &kernel_avx512_wide<8, 3>, &kernel_avx512_wide<8, 3>, true};
    set_wide_edges(bl, std::make_integer_sequence<int, 7>());
    bl.kernel_stream_c = &kernel_avx512_wide<8, 3, true>;
    return bl;
  }
#endif
  return blocking_for(path);
}

// See gemm_microkernels.h.
void fence_streamed_stores() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

}  // namespace signet::cpu::gemm_detail
