// The AVX-512 16 x 16 transpose behind the packing routines of gemm_pack.h.
#include "kernels/cpu/gemm_pack.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu::gemm_detail {

#if defined(__x86_64__)
namespace {

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

}  // namespace

// 16 steps at a time through transpose16 (masked stores keep `lanes` rows), each row prefetched
// 256 bytes ahead (the rows are far apart, so the hardware prefetchers lag); the tail scalar.
__attribute__((target("avx512f"))) void interleave16(const float* const src[16], int64_t kc,
                                                     float* out, int ld, int lanes, bool stream) {
  const __mmask16 keep = static_cast<__mmask16>((1u << lanes) - 1);
  int64_t l = 0;
  for (; l + 16 <= kc; l += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(src[i] + l + 64), _MM_HINT_T0);
      r[i] = _mm512_loadu_ps(src[i] + l);
    }
    transpose16(r);
    if (stream) {
      for (int j = 0; j < 16; ++j) _mm512_stream_ps(out + (l + j) * ld, r[j]);
    } else {
      for (int j = 0; j < 16; ++j) _mm512_mask_storeu_ps(out + (l + j) * ld, keep, r[j]);
    }
  }
  for (; l < kc; ++l)
    for (int i = 0; i < lanes; ++i) out[l * ld + i] = src[i][l];
}

// Row by row, each row's nr-float pieces to their slivers' row l: whole lines, one store each.
__attribute__((target("avx512f"))) void copy_slivers_streamed(const float* src, int64_t ld,
                                                              int64_t kc, int64_t width, int nr,
                                                              float* out) {
  for (int64_t l = 0; l < kc; ++l, src += ld)
    for (int64_t jr = 0; jr < width; jr += nr) {
      float* dst = out + jr * kc + l * nr;
      for (int h = 0; h < nr; h += 16) _mm512_stream_ps(dst + h, _mm512_loadu_ps(src + jr + h));
    }
}
#else
// Without x86 the scalar loops (callers only ask for them on the AVX-512 path, which needs x86).
void interleave16(const float* const src[16], int64_t kc, float* out, int ld, int lanes, bool) {
  for (int64_t l = 0; l < kc; ++l)
    for (int i = 0; i < lanes; ++i) out[l * ld + i] = src[i][l];
}

// See the x86 version; ordinary stores.
void copy_slivers_streamed(const float* src, int64_t ld, int64_t kc, int64_t width, int nr,
                           float* out) {
  for (int64_t l = 0; l < kc; ++l, src += ld)
    for (int64_t j = 0; j < width; ++j) out[j / nr * nr * kc + l * nr + j % nr] = src[j];
}
#endif

}  // namespace signet::cpu::gemm_detail
