// Fast CPU pooling: tap-outer, output-row-inner loops over planes split across threads.
#include "kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/threads.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

using kernels::PoolDesc;

// Elements of one input plane and one output plane.
int64_t in_volume(const PoolDesc& d) {
  return d.in[0] * d.in[1] * d.in[2];
}
int64_t out_volume(const PoolDesc& d) {
  return d.out[0] * d.out[1] * d.out[2];
}

// The outputs o in [lo, hi) of dim i whose tap k lies inside the input: 0 <= o s + k dil - pad <
// in.
void tap_range(const PoolDesc& d, int i, int64_t k, int64_t& lo, int64_t& hi) {
  const int64_t off = k * d.dilation[i] - d.pad[i];
  lo = off >= 0 ? 0 : (-off + d.stride[i] - 1) / d.stride[i];
  hi = off >= d.in[i] ? 0 : std::min(d.out[i], (d.in[i] - 1 - off) / d.stride[i] + 1);
  lo = std::min(lo, hi);
}

// Calls fn(plane, od, oh, row) for every output row of planes [p0, p1); row = the row's first
// output index within the plane.
template <class Fn>
void for_each_row(const PoolDesc& d, int64_t p0, int64_t p1, Fn fn) {
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t od = 0; od < d.out[0]; ++od)
      for (int64_t oh = 0; oh < d.out[1]; ++oh) fn(p, od, oh, (od * d.out[1] + oh) * d.out[2]);
}

// Calls fn(in_row, off, lo, hi) for every tap (kd, kh, kw) of output row (od, oh) inside the
// input, in the reference's order: in_row = the flat offset of input row (id, ih) in the plane,
// and output w in [lo, hi) reads input column w stride + off.
template <class Fn>
void for_each_tap(const PoolDesc& d, int64_t od, int64_t oh, Fn fn) {
  for (int64_t kd = 0; kd < d.kernel[0]; ++kd) {
    const int64_t id = od * d.stride[0] + kd * d.dilation[0] - d.pad[0];
    if (id < 0 || id >= d.in[0]) continue;
    for (int64_t kh = 0; kh < d.kernel[1]; ++kh) {
      const int64_t ih = oh * d.stride[1] + kh * d.dilation[1] - d.pad[1];
      if (ih < 0 || ih >= d.in[1]) continue;
      for (int64_t kw = 0; kw < d.kernel[2]; ++kw) {
        int64_t lo, hi;
        tap_range(d, 2, kw, lo, hi);
        if (lo < hi) fn((id * d.in[1] + ih) * d.in[2], kw * d.dilation[2] - d.pad[2], lo, hi);
      }
    }
  }
}

// PyTorch's divisor of the average window at position o of dim i: the window clipped to the
// padded input (count_include_pad) or to the input.
int64_t divisor_1d(const PoolDesc& d, int i, int64_t o) {
  const int64_t b = o * d.stride[i] - d.pad[i];
  const int64_t e = std::min(b + d.kernel[i], d.in[i] + d.pad[i]);
  if (d.count_include_pad) return e - b;
  return std::max<int64_t>(std::min(e, d.in[i]) - std::max<int64_t>(b, 0), 0);
}

// Max pooling of planes [p0, p1).
template <class T>
void max_forward_planes(const PoolDesc& d, const T* x, T* y, int64_t* idx, int64_t p0, int64_t p1) {
  const int64_t iv = in_volume(d), ov = out_volume(d), ow = d.out[2], sw = d.stride[2];
  for_each_row(d, p0, p1, [&](int64_t p, int64_t od, int64_t oh, int64_t row) {
    const T* xp = x + p * iv;
    T* yr = y + p * ov + row;
    int64_t* ir = idx + p * ov + row;
    std::fill(yr, yr + ow, static_cast<T>(-INFINITY));
    std::fill(ir, ir + ow, int64_t{-1});
    for_each_tap(d, od, oh, [&](int64_t in_row, int64_t off, int64_t lo, int64_t hi) {
      const T* xr = xp + in_row + off;
      for (int64_t w = lo; w < hi; ++w) {
        const T v = xr[w * sw];
        if (ir[w] < 0 || v > yr[w] || v != v) {
          yr[w] = v;
          ir[w] = in_row + off + w * sw;
        }
      }
    });
  });
}

// Whether d is a 2x2 stride-2 max pooling over (H, W) without padding or dilation whose windows
// all lie inside the input (floor mode, or ceil mode on even sizes), 2-D or 3-D with a depth
// kernel of 1 and depth stride 1: sign_cnn's pooling and c3d_small's pool1 (1, 2, 2).
bool is_max2x2(const PoolDesc& d) {
  return d.kernel[0] == 1 && d.stride[0] == 1 && d.pad[0] == 0 && d.out[0] == d.in[0] &&
         d.kernel[1] == 2 && d.kernel[2] == 2 && d.stride[1] == 2 && d.stride[2] == 2 &&
         d.pad[1] == 0 && d.pad[2] == 0 && d.dilation[1] == 1 && d.dilation[2] == 1 &&
         2 * d.out[1] <= d.in[1] && 2 * d.out[2] <= d.in[2];
}

// max_forward_planes for is_max2x2: the four taps of a window in the reference's order, each
// taken when greater than the best so far or NaN (branch-free selects over the output row).
template <class T>
void max2x2_planes(const PoolDesc& d, const T* x, T* y, int64_t* idx, int64_t p0, int64_t p1) {
  const int64_t w_in = d.in[2], iv = in_volume(d), ov = out_volume(d), ow = d.out[2];
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t row = 0; row < d.out[0] * d.out[1]; ++row) {
      const int64_t od = row / d.out[1], oh = row % d.out[1];
      const int64_t base = (od * d.in[1] + 2 * oh) * w_in;
      const T* r0 = x + p * iv + base;
      const T* r1 = r0 + w_in;
      T* yr = y + p * ov + row * ow;
      int64_t* ir = idx + p * ov + row * ow;
      for (int64_t w = 0; w < ow; ++w) {
        T best = r0[2 * w];
        int64_t at = base + 2 * w;
        const T c[3] = {r0[2 * w + 1], r1[2 * w], r1[2 * w + 1]};
        const int64_t ci[3] = {base + 2 * w + 1, base + w_in + 2 * w, base + w_in + 2 * w + 1};
        for (int t = 0; t < 3; ++t) {
          const bool take = c[t] > best || c[t] != c[t];
          best = take ? c[t] : best;
          at = take ? ci[t] : at;
        }
        yr[w] = best;
        ir[w] = at;
      }
    }
}

#if defined(__x86_64__)
// max2x2_planes for float on AVX-512: 8 outputs a step (the last under a mask, so 7-wide rows
// take one step), the even and odd input columns split by permutes, the reference's order of
// taps kept: each later tap taken where greater or NaN.
__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))) void max2x2_planes_avx512(
    const PoolDesc& d, const float* x, float* y, int64_t* idx, int64_t p0, int64_t p1) {
  const int64_t w_in = d.in[2], iv = in_volume(d), ov = out_volume(d), ow = d.out[2];
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i lane2 = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i one = _mm512_set1_epi64(1), down = _mm512_set1_epi64(w_in);
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t row = 0; row < d.out[0] * d.out[1]; ++row) {
      const int64_t od = row / d.out[1], oh = row % d.out[1];
      const int64_t base = (od * d.in[1] + 2 * oh) * w_in;
      const float* r0 = x + p * iv + base;
      const float* r1 = r0 + w_in;
      float* yr = y + p * ov + row * ow;
      int64_t* ir = idx + p * ov + row * ow;
      for (int64_t w = 0; w < ow; w += 8) {
        const int64_t n = std::min<int64_t>(8, ow - w);
        const __mmask16 in_mask = static_cast<__mmask16>((1u << (2 * n)) - 1u);
        const __mmask8 out_mask = static_cast<__mmask8>((1u << n) - 1u);  // n <= 8
        const __m512 v0 = _mm512_maskz_loadu_ps(in_mask, r0 + 2 * w);
        const __m512 v1 = _mm512_maskz_loadu_ps(in_mask, r1 + 2 * w);
        // Lanes 0..7 of each: the tap's value for outputs w .. w + 7 (maskz forms: GCC 12 warns
        // on the undefined-source ones).
        const __m512 taps[4] = {_mm512_maskz_permutexvar_ps(0xFF, even, v0),
                                _mm512_maskz_permutexvar_ps(0xFF, odd, v0),
                                _mm512_maskz_permutexvar_ps(0xFF, even, v1),
                                _mm512_maskz_permutexvar_ps(0xFF, odd, v1)};
        const __m512i at0 = _mm512_add_epi64(_mm512_set1_epi64(base + 2 * w), lane2);
        const __m512i offs[4] = {at0, _mm512_add_epi64(at0, one), _mm512_add_epi64(at0, down),
                                 _mm512_add_epi64(_mm512_add_epi64(at0, down), one)};
        __m512 best = taps[0];
        __m512i at = offs[0];
        for (int t = 1; t < 4; ++t) {
          const __mmask16 take = _mm512_cmp_ps_mask(taps[t], best, _CMP_GT_OQ) |
                                 _mm512_cmp_ps_mask(taps[t], taps[t], _CMP_UNORD_Q);
          best = _mm512_mask_blend_ps(take, best, taps[t]);
          at = _mm512_mask_blend_epi64(static_cast<__mmask8>(take), at, offs[t]);
        }
        _mm512_mask_storeu_ps(yr + w, out_mask, best);
        _mm512_mask_storeu_epi64(ir + w, out_mask, at);
      }
    }
}
#endif

// The 2x2 path for T on this CPU.
template <class T>
void max2x2_dispatch(const PoolDesc& d, const T* x, T* y, int64_t* idx, int64_t p0, int64_t p1) {
#if defined(__x86_64__)
  if constexpr (std::is_same_v<T, float>) {
    if (active_simd_path() == SimdPath::avx512) {
      max2x2_planes_avx512(d, x, y, idx, p0, p1);
      return;
    }
  }
#endif
  max2x2_planes(d, x, y, idx, p0, p1);
}

// Average pooling of planes [p0, p1).
template <class T>
void avg_forward_planes(const PoolDesc& d, const T* x, T* y, int64_t p0, int64_t p1) {
  const int64_t iv = in_volume(d), ov = out_volume(d), ow = d.out[2], sw = d.stride[2];
  for_each_row(d, p0, p1, [&](int64_t p, int64_t od, int64_t oh, int64_t row) {
    const T* xp = x + p * iv;
    T* yr = y + p * ov + row;
    std::fill(yr, yr + ow, T(0));
    for_each_tap(d, od, oh, [&](int64_t in_row, int64_t off, int64_t lo, int64_t hi) {
      const T* xr = xp + in_row + off;
      for (int64_t w = lo; w < hi; ++w) yr[w] += xr[w * sw];
    });
    const int64_t dh = divisor_1d(d, 0, od) * divisor_1d(d, 1, oh);
    for (int64_t w = 0; w < ow; ++w) yr[w] /= static_cast<T>(dh * divisor_1d(d, 2, w));
  });
}

// Average pooling backward of planes [p0, p1) (dx of those planes zeroed first).
template <class T>
void avg_backward_planes(const PoolDesc& d, const T* dy, T* dx, int64_t p0, int64_t p1) {
  const int64_t iv = in_volume(d), ov = out_volume(d), sw = d.stride[2];
  std::fill(dx + p0 * iv, dx + p1 * iv, T(0));
  for_each_row(d, p0, p1, [&](int64_t p, int64_t od, int64_t oh, int64_t row) {
    T* dp = dx + p * iv;
    const T* gr = dy + p * ov + row;
    const int64_t dh = divisor_1d(d, 0, od) * divisor_1d(d, 1, oh);
    for_each_tap(d, od, oh, [&](int64_t in_row, int64_t off, int64_t lo, int64_t hi) {
      T* dr = dp + in_row + off;
      for (int64_t w = lo; w < hi; ++w)
        dr[w * sw] += gr[w] / static_cast<T>(dh * divisor_1d(d, 2, w));
    });
  });
}

// The sum of n values in 16 lanes (a fixed order), then the lanes in a fixed order.
template <class T>
T plane_sum(const T* x, int64_t n) {
  T acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += x[i];
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

}  // namespace

template <class T>
void max_pool_forward_v2(const PoolDesc& d, const T* x, T* y, int64_t* idx, int threads) {
  const bool two = is_max2x2(d);
  parallel_ranges(d.planes, threads, [&](int, int64_t p0, int64_t p1) {
    if (two)
      max2x2_dispatch(d, x, y, idx, p0, p1);
    else
      max_forward_planes(d, x, y, idx, p0, p1);
  });
}

template <class T>
void max_pool_backward_v2(const PoolDesc& d, const T* dy, const int64_t* idx, T* dx, int threads) {
  const int64_t iv = in_volume(d), ov = out_volume(d);
  parallel_ranges(d.planes, threads, [&](int, int64_t p0, int64_t p1) {
    std::fill(dx + p0 * iv, dx + p1 * iv, T(0));
    for (int64_t p = p0; p < p1; ++p) {
      T* dp = dx + p * iv;
      const T* gp = dy + p * ov;
      const int64_t* ip = idx + p * ov;
      for (int64_t o = 0; o < ov; ++o)
        if (ip[o] >= 0) dp[ip[o]] += gp[o];
    }
  });
}

template <class T>
void avg_pool_forward_v2(const PoolDesc& d, const T* x, T* y, int threads) {
  parallel_ranges(d.planes, threads,
                  [&](int, int64_t p0, int64_t p1) { avg_forward_planes(d, x, y, p0, p1); });
}

template <class T>
void avg_pool_backward_v2(const PoolDesc& d, const T* dy, T* dx, int threads) {
  parallel_ranges(d.planes, threads,
                  [&](int, int64_t p0, int64_t p1) { avg_backward_planes(d, dy, dx, p0, p1); });
}

bool is_global_pool(const PoolDesc& d) {
  return d.out[0] == 1 && d.out[1] == 1 && d.out[2] == 1;
}

template <class T>
void global_avg_pool_forward_v2(const PoolDesc& d, const T* x, T* y, int threads) {
  const int64_t iv = in_volume(d);
  parallel_ranges(d.planes, threads, [&](int, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) y[p] = plane_sum(x + p * iv, iv) / static_cast<T>(iv);
  });
}

template <class T>
void global_avg_pool_backward_v2(const PoolDesc& d, const T* dy, T* dx, int threads) {
  const int64_t iv = in_volume(d);
  parallel_ranges(d.planes, threads, [&](int, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      std::fill(dx + p * iv, dx + (p + 1) * iv, dy[p] / static_cast<T>(iv));
  });
}

#define SIGNET_CPU_POOL_INSTANTIATE(T)                                                       \
  template void max_pool_forward_v2<T>(const PoolDesc&, const T*, T*, int64_t*, int);        \
  template void max_pool_backward_v2<T>(const PoolDesc&, const T*, const int64_t*, T*, int); \
  template void avg_pool_forward_v2<T>(const PoolDesc&, const T*, T*, int);                  \
  template void avg_pool_backward_v2<T>(const PoolDesc&, const T*, T*, int);                 \
  template void global_avg_pool_forward_v2<T>(const PoolDesc&, const T*, T*, int);           \
  template void global_avg_pool_backward_v2<T>(const PoolDesc&, const T*, T*, int);
SIGNET_CPU_POOL_INSTANTIATE(float)
SIGNET_CPU_POOL_INSTANTIATE(double)
#undef SIGNET_CPU_POOL_INSTANTIATE

}  // namespace signet::cpu
