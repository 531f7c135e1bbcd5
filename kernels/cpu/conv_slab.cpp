// The zero-padded input slab of the direct convolutions.
#include "kernels/cpu/conv_slab.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

// The shape numbers fill_conv_slab needs, copied out of d and s once (stores into the slab could
// alias them, so the compiler reloaded every field per row when they were read through d).
struct Fill {
  int64_t c, depth, h, w, pad_d, pad_h, pad_w, dspan, sh, pw, plane;
};

#if defined(__x86_64__)
// The lanes l of a 16-wide chunk at slab column col0 that hold input (pad_w <= col0 + l <
// pad_w + w).
__attribute__((target("avx512f"), always_inline)) inline __mmask16 input_lanes(const Fill& f,
                                                                               int64_t col0) {
  const int64_t lo = std::clamp<int64_t>(f.pad_w - col0, 0, 16);
  const int64_t hi = std::clamp<int64_t>(f.pad_w + f.w - col0, 0, 16);
  return static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
}

// The lanes of the chunk at col0 inside the slab row (col0 + l < pw).
__attribute__((target("avx512f"), always_inline)) inline __mmask16 row_lanes(const Fill& f,
                                                                             int64_t col0) {
  return f.pw - col0 >= 16 ? static_cast<__mmask16>(0xFFFF)
                           : static_cast<__mmask16>((1u << (f.pw - col0)) - 1);
}

// Rows [0, n) of dst (row stride pw) = the input rows from src (row stride w) between zeros,
// dst[r][j] = src[r][j - pad_w] inside the input columns: per 16-column chunk its two masks once,
// then one masked (zeroing) load and one masked store a row. A chunk's source address may lie
// before src or past a row's end under the load mask (no fault, no read).
__attribute__((target("avx512f"), always_inline)) inline void padded_rows(const Fill& f,
                                                                          const float* src,
                                                                          float* dst, int64_t n) {
  const uintptr_t base = reinterpret_cast<uintptr_t>(src);
  for (int64_t col0 = 0; col0 < f.pw; col0 += 16) {
    const __mmask16 load = input_lanes(f, col0), store = row_lanes(f, col0);
    uintptr_t from = base + static_cast<uintptr_t>(col0 - f.pad_w) * sizeof(float);
    float* to = dst + col0;
    for (int64_t r = 0; r < n; ++r, from += f.w * sizeof(float), to += f.pw)
      _mm512_mask_storeu_ps(to, store,
                            _mm512_maskz_loadu_ps(load, reinterpret_cast<const void*>(from)));
  }
}

// dst[i] = 0 for i < n.
__attribute__((target("avx512f"), always_inline)) inline void zero_row(float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
  if (i < n)
    _mm512_mask_storeu_ps(dst + i, static_cast<__mmask16>((1u << (n - i)) - 1),
                          _mm512_setzero_ps());
}
#else
// Rows [0, n) of dst (row stride pw) = the input rows from src (row stride w) between zeros.
void padded_rows(const Fill& f, const float* src, float* dst, int64_t n) {
  for (int64_t r = 0; r < n; ++r, src += f.w, dst += f.pw) {
    std::memset(dst, 0, static_cast<size_t>(f.pw) * sizeof(float));
    std::memcpy(dst + f.pad_w, src, static_cast<size_t>(f.w) * sizeof(float));
  }
}

// dst[i] = 0 for i < n.
void zero_row(float* dst, int64_t n) {
  std::memset(dst, 0, static_cast<size_t>(n) * sizeof(float));
}
#endif

}  // namespace

// Every slab element written once: per channel and depth slice the zero rows above, the input
// rows (a 16-column chunk at a time) and the zero rows below.
#if defined(__x86_64__)
__attribute__((target("avx512f")))
#endif
void fill_conv_slab(const kernels::ConvDesc& d, const SlabShape& s, const float* x, int64_t od,
                    int64_t oh0, int64_t rows, float* slab, int64_t zero_floats) {
  const Fill f{d.c,      d.in[0], d.in[1], d.in[2], d.pad[0], d.pad[1],
               d.pad[2], s.dspan, s.sh,    s.pw,    s.plane};
  // Slab rows [r0, r1) hold input rows; the others are zero.
  const int64_t r0 = std::clamp<int64_t>(f.pad_h - oh0, 0, std::min(rows, f.sh));
  const int64_t r1 = std::clamp<int64_t>(f.h + f.pad_h - oh0, r0, std::min(rows, f.sh));
  for (int64_t c = 0; c < f.c; ++c)
    for (int64_t z = 0; z < f.dspan; ++z) {
      const int64_t iz = od + z - f.pad_d;
      float* dst = slab + c * f.plane + z * f.sh * f.pw;
      if (iz < 0 || iz >= f.depth) {
        zero_row(dst, f.sh * f.pw);
        continue;
      }
      zero_row(dst, r0 * f.pw);
      if (r1 > r0)
        padded_rows(f, x + ((c * f.depth + iz) * f.h + oh0 + r0 - f.pad_h) * f.w, dst + r0 * f.pw,
                    r1 - r0);
      zero_row(dst + r1 * f.pw, (f.sh - r1) * f.pw);
    }
  if (zero_floats > f.c * f.plane) zero_row(slab + f.c * f.plane, zero_floats - f.c * f.plane);
}

// An empty feed when any count or the length is not positive.
LineFeed::LineFeed(const void* base, int64_t outer, int64_t outer_stride, int64_t inner,
                   int64_t inner_stride, int64_t len)
    : base_(static_cast<const char*>(base)),
      outer_(len > 0 && inner > 0 ? std::max<int64_t>(outer, 0) : 0),
      outer_stride_(outer_stride),
      inner_(inner),
      inner_stride_(inner_stride),
      len_(len) {
  // Back-to-back ranges (B's next image, every channel) make one.
  if (inner_ == 1 && outer_ > 1 && outer_stride_ == len_) len_ *= outer_, outer_ = 1;
  start(0, 0);
}

// Range (o, i) from the line holding its first byte.
void LineFeed::start(int64_t o, int64_t i) {
  o_ = o, i_ = i;
  if (o_ >= outer_) return;
  const char* first = base_ + o_ * outer_stride_ + i_ * inner_stride_;
  at_ = first - (reinterpret_cast<uintptr_t>(first) & 63);
  end_ = first + len_;
}

// The next lines in order, up to the end of the current range.
void LineFeed::take(int64_t count, const char** begin, const char** end) {
  *begin = *end = at_;
  if (o_ >= outer_ || count <= 0) return;
  *end = at_ + std::min<int64_t>(end_ - at_, count * 64);
  at_ = *end;
  if (at_ >= end_) i_ + 1 < inner_ ? start(o_, i_ + 1) : start(o_ + 1, 0);
}

// Per channel, per depth slice inside the input, the input rows the slab holds (one range).
LineFeed conv_slab_source(const kernels::ConvDesc& d, const SlabShape& s, const float* x,
                          int64_t od, int64_t oh0, int64_t rows) {
  const int64_t z0 = std::clamp<int64_t>(od - d.pad[0], 0, d.in[0]);
  const int64_t z1 = std::clamp<int64_t>(od - d.pad[0] + s.dspan, z0, d.in[0]);
  const int64_t r0 = std::clamp<int64_t>(oh0 - d.pad[1], 0, d.in[1]);
  const int64_t r1 = std::clamp<int64_t>(oh0 - d.pad[1] + std::min(rows, s.sh), r0, d.in[1]);
  const int64_t row = d.in[2] * static_cast<int64_t>(sizeof(float)), plane = d.in[1] * row;
  return LineFeed(x + (z0 * d.in[1] + r0) * d.in[2], d.c, d.in[0] * plane, z1 - z0, plane,
                  (r1 - r0) * row);
}

}  // namespace signet::cpu
