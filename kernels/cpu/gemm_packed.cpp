// v3 SGEMM: packed panels from the caller's workspace, cache blocking, register-tiled kernels.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_microkernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::cpu {
namespace {

using gemm_detail::Blocking;
using kernels::GemmDesc;

// Below this many multiply-adds one thread is faster than waking the others.
constexpr int64_t kMinParallelWork = int64_t{1} << 20;

// x rounded up to a multiple of q.
int64_t round_up(int64_t x, int64_t q) {
  return (x + q - 1) / q * q;
}

// Floats of packed A and packed B one thread needs for d under blocking bl (64-byte multiples).
void panel_floats(const GemmDesc& d, const Blocking& bl, int64_t* a_floats, int64_t* b_floats) {
  const int64_t kc = std::min<int64_t>(bl.kc, std::max<int64_t>(d.k, 1));
  *a_floats = round_up(std::min<int64_t>(bl.mc, round_up(d.m, bl.mr)) * kc, 16);
  *b_floats = round_up(std::min<int64_t>(bl.nc, round_up(d.n, bl.nr)) * kc, 16);
}

#if defined(__x86_64__)
// Transposes the 16 x 16 block r (row i = r[i]) in place: afterwards r[l] holds column l. The
// all-ones masked forms avoid GCC 12's false -Wmaybe-uninitialized on the unmasked ones.
__attribute__((target("avx512f"), always_inline)) inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_mask_unpacklo_ps(r[i], 0xFFFF, r[i], r[i + 1]);
    t[i + 1] = _mm512_mask_unpackhi_ps(r[i], 0xFFFF, r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_mask_shuffle_ps(t[i], 0xFFFF, t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_mask_shuffle_ps(t[i], 0xFFFF, t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] =
        _mm512_mask_shuffle_ps(t[i + 1], 0xFFFF, t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] =
        _mm512_mask_shuffle_ps(t[i + 1], 0xFFFF, t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_mask_shuffle_f32x4(r[h + i], 0xFFFF, r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_mask_shuffle_f32x4(r[h + i], 0xFFFF, r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_mask_shuffle_f32x4(t[i], 0xFFFF, t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_mask_shuffle_f32x4(t[i], 0xFFFF, t[i], t[i + 8], 0xdd);
  }
}

// Writes element (row i, step l) of 16 rows (row i at src[i], kc steps) to out[l * ld + i]
// for i < lanes, 16 steps at a time through transpose16; the tail of kc scalar.
__attribute__((target("avx512f"))) void interleave16(const float* const src[16], int64_t kc,
                                                     float* out, int ld, int lanes) {
  const __mmask16 keep = static_cast<__mmask16>((1u << lanes) - 1);
  int64_t l = 0;
  for (; l + 16 <= kc; l += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src[i] + l);
    transpose16(r);
    for (int j = 0; j < 16; ++j) _mm512_mask_storeu_ps(out + (l + j) * ld, keep, r[j]);
  }
  for (; l < kc; ++l)
    for (int i = 0; i < lanes; ++i) out[l * ld + i] = src[i][l];
}
#endif

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into MR-row slivers, k-major, zero-padded.
template <int MR>
void pack_a(const GemmDesc& d, const float* a, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* out, bool avx512) {
  for (int64_t ir = 0; ir < mc; ir += MR, out += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
    if (d.trans_a) {
      const float* src = a + p0 * d.lda + i0 + ir;
      for (int64_t l = 0; l < kc; ++l, src += d.lda) {
        for (int i = 0; i < rows; ++i) out[l * MR + i] = src[i];
        for (int i = rows; i < MR; ++i) out[l * MR + i] = 0;
      }
    } else if (MR == 12 && rows == MR && avx512) {
#if defined(__x86_64__)
      const float* src[16];
      for (int i = 0; i < 16; ++i) src[i] = a + (i0 + ir + (i < MR ? i : 0)) * d.lda + p0;
      interleave16(src, kc, out, MR, MR);
#endif
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

// Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into NR-column slivers, zero-padded.
template <int NR>
void pack_b(const GemmDesc& d, const float* b, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            float* out, bool avx512) {
  for (int64_t jr = 0; jr < nc; jr += NR, out += NR * kc) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    if (d.trans_b && NR == 32 && cols == NR && avx512) {
#if defined(__x86_64__)
      const float* src[16];
      for (int h = 0; h < 2; ++h) {
        for (int j = 0; j < 16; ++j) src[j] = b + (j0 + jr + 16 * h + j) * d.ldb + p0;
        interleave16(src, kc, out + 16 * h, NR, 16);
      }
#endif
    } else if (d.trans_b) {
      for (int j = 0; j < cols; ++j) {
        const float* src = b + (j0 + jr + j) * d.ldb + p0;
        for (int64_t l = 0; l < kc; ++l) out[l * NR + j] = src[l];
      }
      for (int j = cols; j < NR; ++j)
        for (int64_t l = 0; l < kc; ++l) out[l * NR + j] = 0;
    } else {
      const float* src = b + p0 * d.ldb + j0 + jr;
      for (int64_t l = 0; l < kc; ++l, src += d.ldb) {
        for (int j = 0; j < cols; ++j) out[l * NR + j] = src[j];
        for (int j = cols; j < NR; ++j) out[l * NR + j] = 0;
      }
    }
  }
}

// C[0:rows, 0:cols] = alpha * t + beta * C from an MR x NR tile t (row stride NR).
void store_edge(const float* t, int nr, int rows, int cols, float* c, int64_t ldc, float alpha,
                float beta) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      c[i * ldc + j] = alpha * t[i * nr + j] + (beta == 0 ? 0.0f : beta * c[i * ldc + j]);
}

// C[rows, cols] = beta * C (the whole product when k == 0); beta == 0 never reads C.
void scale_c(float* c, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float beta) {
  for (int64_t i = m0; i < m1; ++i)
    for (int64_t j = n0; j < n1; ++j) c[i * ldc + j] = beta == 0 ? 0.0f : beta * c[i * ldc + j];
}

// One thread's block C[m0:m1, n0:n1] of one batch item: the five loops around the micro-kernel.
template <int MR, int NR>
void packed_block(const GemmDesc& d, const Blocking& bl, const float* a, const float* b, float* c,
                  int64_t m0, int64_t m1, int64_t n0, int64_t n1, float* apack, float* bpack) {
  const float alpha = static_cast<float>(d.alpha);
  if (d.k == 0) return scale_c(c, d.ldc, m0, m1, n0, n1, static_cast<float>(d.beta));
  alignas(64) float edge[gemm_detail::kMaxMr * gemm_detail::kMaxNr];
  for (int64_t jc = n0; jc < n1; jc += bl.nc) {
    const int64_t nc = std::min<int64_t>(bl.nc, n1 - jc);
    for (int64_t pc = 0; pc < d.k; pc += bl.kc) {
      const int64_t kc = std::min<int64_t>(bl.kc, d.k - pc);
      const float beta = pc == 0 ? static_cast<float>(d.beta) : 1.0f;
      pack_b<NR>(d, b, pc, kc, jc, nc, bpack, bl.avx512);
      for (int64_t ic = m0; ic < m1; ic += bl.mc) {
        const int64_t mc = std::min<int64_t>(bl.mc, m1 - ic);
        pack_a<MR>(d, a, ic, mc, pc, kc, apack, bl.avx512);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            float* cij = c + (ic + ir) * d.ldc + jc + jr;
            if (rows == MR && cols == NR) {
              bl.kernel(kc, apack + ir * kc, bpack + jr * kc, cij, d.ldc, alpha, beta);
            } else {
              bl.kernel(kc, apack + ir * kc, bpack + jr * kc, edge, NR, 1.0f, 0.0f);
              store_edge(edge, NR, rows, cols, cij, d.ldc, alpha, beta);
            }
          }
        }
      }
    }
  }
}

// Thread tid's share of C: the longer of m and n split into nt runs of whole MR/NR tiles (each
// thread packs all of the other operand; B's pack is the cheaper one, so ties split m).
void thread_range(const GemmDesc& d, const Blocking& bl, int tid, int nt, int64_t* m0, int64_t* m1,
                  int64_t* n0, int64_t* n1) {
  *m0 = 0, *m1 = d.m, *n0 = 0, *n1 = d.n;
  const bool split_m = d.m >= d.n && d.m >= int64_t{bl.mr} * nt;
  const int64_t q = split_m ? bl.mr : bl.nr, len = split_m ? d.m : d.n;
  const int64_t units = (len + q - 1) / q;
  const int64_t lo = std::min(len, units * tid / nt * q);
  const int64_t hi = std::min(len, units * (tid + 1) / nt * q);
  if (split_m) {
    *m0 = lo, *m1 = hi;
  } else {
    *n0 = lo, *n1 = hi;
  }
}

// The whole batched product on one path: each thread owns a fixed block of every batch item.
template <int MR, int NR>
void packed_all(const GemmDesc& d, const float* a, const float* b, float* c, float* ws, int threads,
                const Blocking& bl) {
  int64_t a_floats, b_floats;
  panel_floats(d, bl, &a_floats, &b_floats);
  const bool parallel =
      threads > 1 && d.batch * d.m * d.n * std::max<int64_t>(d.k, 1) >= kMinParallelWork;
  const int nt_req = parallel ? threads : 1;
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(nt_req)
#endif
  {
#ifdef SIGNET_WITH_OPENMP
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int tid = 0, nt = 1;
    (void)nt_req;
#endif
    float* apack = ws + tid * (a_floats + b_floats);
    float* bpack = apack + a_floats;
    int64_t m0, m1, n0, n1;
    thread_range(d, bl, tid, nt, &m0, &m1, &n0, &n1);
    for (int64_t p = 0; p < d.batch && m0 < m1 && n0 < n1; ++p)
      packed_block<MR, NR>(d, bl, a + p * d.stride_a, b + p * d.stride_b, c + p * d.stride_c, m0,
                           m1, n0, n1, apack, bpack);
  }
}

}  // namespace

// The largest need over the paths, so one workspace fits whichever path runs; +64 for alignment.
size_t sgemm_workspace_bytes(const GemmDesc& d, int threads) {
  int64_t most = 0;
  for (SimdPath path : {SimdPath::portable, SimdPath::avx2, SimdPath::avx512}) {
    int64_t a_floats, b_floats;
    panel_floats(d, gemm_detail::blocking_for(path), &a_floats, &b_floats);
    most = std::max(most, a_floats + b_floats);
  }
  return static_cast<size_t>(most) * sizeof(float) * static_cast<size_t>(std::max(threads, 1)) + 64;
}

// Aligns the workspace to 64 bytes and runs the instantiation for the path's register tile.
void sgemm_v3_packed(const GemmDesc& d, const float* a, const float* b, float* c, void* workspace,
                     int threads, SimdPath path) {
  if (d.m <= 0 || d.n <= 0 || d.batch <= 0) return;
  const uintptr_t p = reinterpret_cast<uintptr_t>(workspace);
  float* ws = reinterpret_cast<float*>((p + 63) / 64 * 64);
  const Blocking bl = gemm_detail::blocking_for(path);
  if (bl.mr == 12) return packed_all<12, 32>(d, a, b, c, ws, threads, bl);
  if (bl.mr == 6) return packed_all<6, 16>(d, a, b, c, ws, threads, bl);
  packed_all<4, 16>(d, a, b, c, ws, threads, bl);
}

}  // namespace signet::cpu
