// v5 SGEMM for a short op(A): op(B) read where it is stored, never packed (see gemm.h).
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/workspace.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

using gemm_detail::kMinParallelWork;
using gemm_detail::round_up;
using gemm_detail::store_edge;
using kernels::GemmDesc;

// The register tile: kRows rows of op(A) by kCols columns of op(B), one accumulator each.
constexpr int kRows = 4, kCols = 6;

// The shapes the engine sends to v5 (sgemm_v5_suits): at most kMaxRows rows (v5 re-reads op(A)
// from L2 once per kCols columns of op(B), while v4's packing of op(B) pays off over more rows)
// and at least kMinDepth steps of k (at k = 64 a tile's reduction and store of its 24 sums cost
// about as much as its 96 FMAs). Measured n = 4096, 1 thread, AVX-512, loaded machine (2026-12-01),
// v5 vs v4 ms: k = 1024, m = 1 0.66 vs 2.63, m = 8 0.89 vs 2.58, m = 32 2.24 vs 3.9, m = 48 3.16
// vs 4.52, m = 64 4.46 vs 5.86; m = 32, k = 64 0.49 vs 0.21, k = 128 0.45 vs 0.47, k = 256 0.70 vs
// 0.81 (64-byte aligned rows; rows off that alignment cost v5 ~40%: m = 32 3.4 ms, v4 4.1).
constexpr int64_t kMaxRows = 64, kMinDepth = 128;

// op(A) and op(B) as the tiles read them: element (i, l) of op(A) at a[i a_row + l a_step],
// element (l, j) of op(B) at b[j b_col + l b_step].
struct Operands {
  const float* a;
  int64_t a_row, a_step;
  const float* b;
  int64_t b_col, b_step;
};

// The tile at (i, j) of rows x cols (at most kRows x kCols) in plain loops over any strides: C =
// alpha op(A) op(B) + beta C. The portable and AVX2 paths' tile and the transposed-B-free case.
void tile_portable(const Operands& o, int64_t k, int64_t i, int64_t j, int rows, int cols, float* c,
                   int64_t ldc, float alpha, float beta) {
  float acc[kRows * kCols] = {};
  const float* a = o.a + i * o.a_row;
  const float* b = o.b + j * o.b_col;
  for (int64_t l = 0; l < k; ++l)
    for (int r = 0; r < rows; ++r) {
      const float ar = a[r * o.a_row + l * o.a_step];
      for (int s = 0; s < cols; ++s) acc[r * kCols + s] += ar * b[s * o.b_col + l * o.b_step];
    }
  store_edge(acc, kCols, rows, cols, c + i * ldc + j, ldc, alpha, beta);
}

#if defined(__x86_64__)
// The sums of a, b, c and d (16 lanes each) in lanes 0-3: pairs of lanes first
// within each 128-bit quarter, then the four quarters. The all-ones masked forms avoid GCC 12's
// false -Wuninitialized on the unmasked ones (as in gemm_pack.cpp).
__attribute__((target("avx512f"), always_inline)) inline __m512 sum4(__m512 a, __m512 b, __m512 c,
                                                                     __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_mask_unpacklo_ps(a, 0xFFFF, a, b),
                                  _mm512_mask_unpackhi_ps(a, 0xFFFF, a, b));
  const __m512 cd = _mm512_add_ps(_mm512_mask_unpacklo_ps(c, 0xFFFF, c, d),
                                  _mm512_mask_unpackhi_ps(c, 0xFFFF, c, d));
  __m512 s = _mm512_add_ps(_mm512_mask_shuffle_ps(ab, 0xFFFF, ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_mask_shuffle_ps(ab, 0xFFFF, ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
  s = _mm512_add_ps(s, _mm512_mask_shuffle_f32x4(s, 0xFFFF, s, s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm512_add_ps(s, _mm512_mask_shuffle_f32x4(s, 0xFFFF, s, s, _MM_SHUFFLE(2, 3, 0, 1)));
  return s;
}

// The tile at (i, j) of rows x cols when op(A)'s rows and op(B)'s columns are contiguous
// (a_step = b_step = 1): 24 dot products, 16 k steps per vector (the tail masked), the sums
// reduced once at the end. Rows and columns past the edge re-read the first one and are not
// stored. Per 16 k steps: 4 loads of A (from L2), 6 of B (kept in L1 across the row tiles).
__attribute__((target("avx512f"))) void tile_avx512(const Operands& o, int64_t k, int64_t i,
                                                    int64_t j, int rows, int cols, float* c,
                                                    int64_t ldc, float alpha, float beta) {
  const float* ar[kRows];
  const float* br[kCols];
#pragma GCC unroll 24
  for (int r = 0; r < kRows; ++r) ar[r] = o.a + (i + (r < rows ? r : 0)) * o.a_row;
#pragma GCC unroll 24
  for (int s = 0; s < kCols; ++s) br[s] = o.b + (j + (s < cols ? s : 0)) * o.b_col;
  __m512 acc[kRows * kCols];
#pragma GCC unroll 24
  for (int t = 0; t < kRows * kCols; ++t) acc[t] = _mm512_setzero_ps();
  int64_t l = 0;
  for (; l + 16 <= k; l += 16) {
    __m512 av[kRows];
#pragma GCC unroll 24
    for (int r = 0; r < kRows; ++r) av[r] = _mm512_loadu_ps(ar[r] + l);
#pragma GCC unroll 24
    for (int s = 0; s < kCols; ++s) {
      const __m512 w = _mm512_loadu_ps(br[s] + l);
#pragma GCC unroll 24
      for (int r = 0; r < kRows; ++r)
        acc[r * kCols + s] = _mm512_fmadd_ps(av[r], w, acc[r * kCols + s]);
    }
  }
  if (l < k) {
    const __mmask16 keep = static_cast<__mmask16>((1u << (k - l)) - 1);
    __m512 av[kRows];
#pragma GCC unroll 24
    for (int r = 0; r < kRows; ++r) av[r] = _mm512_maskz_loadu_ps(keep, ar[r] + l);
#pragma GCC unroll 24
    for (int s = 0; s < kCols; ++s) {
      const __m512 w = _mm512_maskz_loadu_ps(keep, br[s] + l);
#pragma GCC unroll 24
      for (int r = 0; r < kRows; ++r)
        acc[r * kCols + s] = _mm512_fmadd_ps(av[r], w, acc[r * kCols + s]);
    }
  }
  float sums[kRows * kCols];
#pragma GCC unroll 24
  for (int t = 0; t < kRows * kCols; t += 4)
    _mm512_mask_storeu_ps(sums + t, 0xF, sum4(acc[t], acc[t + 1], acc[t + 2], acc[t + 3]));
  store_edge(sums, kCols, rows, cols, c + i * ldc + j, ldc, alpha, beta);
}
#endif

// Columns [n0, n1) of one batch item's C: for each kCols-column group of op(B) (from memory once,
// then from L1) every kRows-row group of op(A) (from L2), the whole k in one tile call.
template <class Tile>
void columns(const Operands& o, const GemmDesc& d, float* c, int64_t n0, int64_t n1, Tile tile) {
  const float alpha = static_cast<float>(d.alpha), beta = static_cast<float>(d.beta);
  for (int64_t j = n0; j < n1; j += kCols) {
    const int cols = static_cast<int>(std::min<int64_t>(kCols, n1 - j));
    for (int64_t i = 0; i < d.m; i += kRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kRows, d.m - i));
      tile(o, d.k, i, j, rows, cols, c, d.ldc, alpha, beta);
    }
  }
}

// The share [lo, hi) of thread tid of nt over len, cut at multiples of q.
void split(int64_t len, int64_t q, int tid, int nt, int64_t* lo, int64_t* hi) {
  const int64_t units = (len + q - 1) / q;
  *lo = std::min(len, units * tid / nt * q);
  *hi = std::min(len, units * (tid + 1) / nt * q);
}

// Copies steps [l0, l1) of a transposed A (stored k x m) into rows of ld floats: op(A) row-major.
void pack_rows(const GemmDesc& d, const float* a, int64_t l0, int64_t l1, int64_t ld, float* out) {
  for (int64_t l = l0; l < l1; ++l) {
    const float* src = a + l * d.lda;
    for (int64_t i = 0; i < d.m; ++i) out[i * ld + l] = src[i];
  }
}

// Floats of one packed op(A) (its rows padded to 64 bytes), or 0 when the AVX-512 path does not
// pack (op(A)'s rows contiguous already); two of them alternate between batch items.
int64_t packed_a_floats(const GemmDesc& d) {
  return d.trans_a ? d.m * round_up(std::max<int64_t>(d.k, 1), 16) : 0;
}

}  // namespace

// Two packed op(A) buffers (one per batch item in flight) + 64 bytes for alignment.
size_t sgemm_v5_workspace_bytes(const GemmDesc& d, int threads) {
  (void)threads;
  return static_cast<size_t>(2 * packed_a_floats(d)) * sizeof(float) + 64;
}

// The rule matmul uses: the AVX-512 path, one product (batches were not measured), op(B)
// transposed (its columns contiguous), at most kMaxRows rows and at least kMinDepth steps of k,
// where packing op(B) costs v4 more than v5's tiles lose.
bool sgemm_v5_suits(const GemmDesc& d, SimdPath path) {
  return path == SimdPath::avx512 && d.batch == 1 && d.trans_b && d.m <= kMaxRows &&
         d.k >= kMinDepth;
}

// Threads split n; on the AVX-512 path a transposed A is first copied row-major by all threads
// (a barrier per batch item; two buffers alternate, so one barrier suffices).
void sgemm_v5_direct_b(const GemmDesc& d, const float* a, const float* b, float* c, void* workspace,
                       int threads, SimdPath path) {
  if (d.m <= 0 || d.n <= 0 || d.batch <= 0) return;
  float* ws = aligned64<float>(workspace);
  const int64_t lda_packed = round_up(std::max<int64_t>(d.k, 1), 16);
  const bool simd = path == SimdPath::avx512 && d.trans_b;
  const bool pack = simd && d.trans_a;
  // Unused without OpenMP (the embedded build runs one thread).
  [[maybe_unused]] const bool parallel =
      threads > 1 && d.batch * d.m * d.n * std::max<int64_t>(d.k, 1) >= kMinParallelWork;
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(parallel ? threads : 1)
#endif
  {
#ifdef SIGNET_WITH_OPENMP
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int tid = 0, nt = 1;
#endif
    int64_t n0, n1;
    split(d.n, kCols, tid, nt, &n0, &n1);
    for (int64_t item = 0; item < d.batch; ++item) {
      Operands o{a + item * d.stride_a, d.trans_a ? 1 : d.lda, d.trans_a ? d.lda : 1,
                 b + item * d.stride_b, d.trans_b ? d.ldb : 1, d.trans_b ? 1 : d.ldb};
      if (pack) {
        float* out = ws + (item & 1) * packed_a_floats(d);
        int64_t l0, l1;
        split(d.k, 16, tid, nt, &l0, &l1);
        pack_rows(d, o.a, l0, l1, lda_packed, out);
#ifdef SIGNET_WITH_OPENMP
        if (nt > 1) {
#pragma omp barrier
        }
#endif
        o.a = out, o.a_row = lda_packed, o.a_step = 1;
      }
      float* ci = c + item * d.stride_c;
#if defined(__x86_64__)
      if (simd) {
        columns(o, d, ci, n0, n1, &tile_avx512);
        continue;
      }
#endif
      columns(o, d, ci, n0, n1, &tile_portable);
    }
  }
}

}  // namespace signet::cpu
