// The zero-padded input slab of the direct convolutions.
#include "kernels/cpu/conv_slab.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

#if defined(__x86_64__)
// dst[i] = src[i] for i < n: 16 floats a move, the last under a mask.
__attribute__((target("avx512f"), always_inline)) inline void copy_row(float* dst, const float* src,
                                                                       int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
  }
}

// dst[i] = 0 for i < n, the same way.
__attribute__((target("avx512f"), always_inline)) inline void zero_row(float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
  if (i < n)
    _mm512_mask_storeu_ps(dst + i, static_cast<__mmask16>((1u << (n - i)) - 1),
                          _mm512_setzero_ps());
}
#else
// dst[i] = src[i] for i < n.
void copy_row(float* dst, const float* src, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

// dst[i] = 0 for i < n.
void zero_row(float* dst, int64_t n) {
  std::memset(dst, 0, static_cast<size_t>(n) * sizeof(float));
}
#endif

}  // namespace

// Every slab row written once, in order, its padding columns included.
#if defined(__x86_64__)
__attribute__((target("avx512f")))
#endif
void fill_conv_slab(const kernels::ConvDesc& d, const SlabShape& s, const float* x, int64_t od,
                    int64_t oh0, int64_t rows, float* slab, int64_t zero_floats) {
  const int64_t right = s.pw - d.pad[2] - d.in[2];
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t z = 0; z < s.dspan; ++z) {
      const int64_t iz = od + z - d.pad[0];
      const bool slice = iz >= 0 && iz < d.in[0];
      for (int64_t r = 0; r < s.sh; ++r) {
        float* dst = slab + c * s.plane + (z * s.sh + r) * s.pw;
        const int64_t ih = oh0 + r - d.pad[1];
        if (!slice || r >= rows || ih < 0 || ih >= d.in[1]) {
          zero_row(dst, s.pw);
          continue;
        }
        zero_row(dst, d.pad[2]);
        copy_row(dst + d.pad[2], x + ((c * d.in[0] + iz) * d.in[1] + ih) * d.in[2], d.in[2]);
        zero_row(dst + d.pad[2] + d.in[2], right);
      }
    }
  if (zero_floats > d.c * s.plane) zero_row(slab + d.c * s.plane, zero_floats - d.c * s.plane);
}

}  // namespace signet::cpu
