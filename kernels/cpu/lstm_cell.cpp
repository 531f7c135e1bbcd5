#include "kernels/cpu/lstm_cell.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/threads.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

using kernels::LstmCellDesc;

constexpr float kExpLo = -86.0f, kExpHi = 88.0f;  // 2^n stays a normal number
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kShifter = 12582912.0f;  // 1.5 * 2^23: rounds to an integer
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // Cody-Waite split of ln 2
constexpr float kExpP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr float kTanhSmall = 0.625f;
constexpr float kTanhP[5] = {-0.0057039927f, 0.020637818f, -0.053739145f, 0.13331431f, -0.3333328f};
constexpr int64_t kUnitsPerThreadMin = 8192;  // a smaller step runs on fewer threads

// exp(x) as described in lstm_cell.h (scalar form of exp16).
float exp1(float x) {
  if (x != x) return x;
  const float xc = x < kExpLo ? kExpLo : (x > kExpHi ? kExpHi : x);
  const float t = std::fma(xc, kLog2e, kShifter);
  const float n = t - kShifter;
  float r = std::fma(n, -kLn2Hi, xc);
  r = std::fma(n, -kLn2Lo, r);
  float p = kExpP[0];
  for (int k = 1; k < 6; ++k) p = std::fma(p, r, kExpP[k]);
  const float e = std::fma(p, r * r, r) + 1.0f;
  uint32_t tb, eb;
  std::memcpy(&tb, &t, 4);
  std::memcpy(&eb, &e, 4);
  eb += tb << 23;
  float out;
  std::memcpy(&out, &eb, 4);
  return out;
}

// sigmoid(x) = 1 / (1 + exp(-x)).
float sigmoid1(float x) {
  return 1.0f / (1.0f + exp1(-x));
}

// tanh(x): odd polynomial near 0, exp form elsewhere.
float tanh1(float x) {
  const float a = std::fabs(x);
  if (a < kTanhSmall) {
    const float s = x * x;
    float p = kTanhP[0];
    for (int k = 1; k < 5; ++k) p = std::fma(p, s, kTanhP[k]);
    return std::fma(x * s, p, x);
  }
  const float t = 1.0f - 2.0f / (exp1(2.0f * a) + 1.0f);
  return std::copysign(t, x);
}

// Forward of units [u0, u1) of one active row on the portable path.
void row_forward_portable(int64_t H, int64_t u0, int64_t u1, const float* a, const float* a2,
                          const float* cp, float* s, float* c, float* h, float* y) {
  auto pre = [&](int64_t k) { return a2 ? a[k] + a2[k] : a[k]; };
  for (int64_t j = u0; j < u1; ++j) {
    const float i = sigmoid1(pre(j)), f = sigmoid1(pre(H + j));
    const float g = tanh1(pre(2 * H + j)), o = sigmoid1(pre(3 * H + j));
    s[j] = i;
    s[H + j] = f;
    s[2 * H + j] = g;
    s[3 * H + j] = o;
    const float cn = std::fma(f, cp[j], i * g);
    c[j] = cn;
    h[j] = o * tanh1(cn);
    if (y) y[j] = h[j];
  }
}

// Backward of units [u0, u1) of one active row on the portable path (see lstm_unit_backward).
void row_backward_portable(int64_t H, int64_t u0, int64_t u1, const float* s, const float* cp,
                           const float* c, const float* dy, float* dh, float* dc, float* dg) {
  for (int64_t j = u0; j < u1; ++j) {
    const float i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j];
    const float dhj = dh[j] + (dy ? dy[j] : 0.0f);
    const float tc = tanh1(c[j]);
    const float dct = std::fma(dhj * o, std::fma(-tc, tc, 1.0f), dc[j]);
    dg[j] = dct * g * i * (1.0f - i);
    dg[H + j] = dct * cp[j] * f * (1.0f - f);
    dg[2 * H + j] = dct * i * std::fma(-g, g, 1.0f);
    dg[3 * H + j] = dhj * tc * o * (1.0f - o);
    dc[j] = dct * f;
    dh[j] = 0.0f;
  }
}

#if defined(__x86_64__)
#define SIGNET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

// exp of 16 lanes: exp1's steps, the NaN lanes passed through. The maskz forms avoid a GCC 12
// -Wmaybe-uninitialized false alarm on the unmasked ones.
SIGNET_AVX512 inline __m512 exp16(__m512 x) {
  const __mmask16 all = 0xFFFF;
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __m512 xc = _mm512_maskz_min_ps(all, _mm512_maskz_max_ps(all, x, _mm512_set1_ps(kExpLo)),
                                        _mm512_set1_ps(kExpHi));
  const __m512 shifter = _mm512_set1_ps(kShifter);
  const __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(kLog2e), shifter);
  const __m512 n = _mm512_sub_ps(t, shifter);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpP[0]);
  for (int k = 1; k < 6; ++k) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP[k]));
  const __m512 e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  const __m512i bits = _mm512_add_epi32(_mm512_castps_si512(e),
                                        _mm512_maskz_slli_epi32(all, _mm512_castps_si512(t), 23));
  return _mm512_mask_mov_ps(_mm512_castsi512_ps(bits), nan, x);
}

// sigmoid of 16 lanes.
SIGNET_AVX512 inline __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

// tanh of 16 lanes: both forms computed, the polynomial kept where |x| < kTanhSmall.
SIGNET_AVX512 inline __m512 tanh16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 a = _mm512_abs_ps(x);
  const __m512 s = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(kTanhP[0]);
  for (int k = 1; k < 5; ++k) p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(kTanhP[k]));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x, s), p, x);
  const __m512 e = exp16(_mm512_add_ps(a, a));
  const __m512 t = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
  const __m512 large = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), sign));
  const __mmask16 is_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(kTanhSmall), _CMP_LT_OQ);
  return _mm512_mask_mov_ps(large, is_small, small);
}

// The lanes of units j .. j + 15 that exist in a row of H.
inline __mmask16 tail_mask(int64_t H, int64_t j) {
  const int64_t left = H - j;
  return left >= 16 ? static_cast<__mmask16>(0xFFFF)
                    : static_cast<__mmask16>((1u << static_cast<unsigned>(left)) - 1u);
}

// Pre-activations k..k+15 (lanes m): a[k] + a2[k], or a[k] when a2 is null.
SIGNET_AVX512 inline __m512 load_pre(__mmask16 m, const float* a, const float* a2, int64_t k) {
  const __m512 v = _mm512_maskz_loadu_ps(m, a + k);
  return a2 ? _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, a2 + k)) : v;
}

// Forward of units [u0, u1) of one active row in 16-unit vectors.
SIGNET_AVX512 void row_forward_avx512(int64_t H, int64_t u0, int64_t u1, const float* a,
                                      const float* a2, const float* cp, float* s, float* c,
                                      float* h, float* y) {
  for (int64_t j = u0; j < u1; j += 16) {
    const __mmask16 m = tail_mask(u1, j);
    const __m512 i = sigmoid16(load_pre(m, a, a2, j));
    const __m512 f = sigmoid16(load_pre(m, a, a2, H + j));
    const __m512 g = tanh16(load_pre(m, a, a2, 2 * H + j));
    const __m512 o = sigmoid16(load_pre(m, a, a2, 3 * H + j));
    _mm512_mask_storeu_ps(s + j, m, i);
    _mm512_mask_storeu_ps(s + H + j, m, f);
    _mm512_mask_storeu_ps(s + 2 * H + j, m, g);
    _mm512_mask_storeu_ps(s + 3 * H + j, m, o);
    const __m512 cn = _mm512_fmadd_ps(f, _mm512_maskz_loadu_ps(m, cp + j), _mm512_mul_ps(i, g));
    const __m512 hn = _mm512_mul_ps(o, tanh16(cn));
    _mm512_mask_storeu_ps(c + j, m, cn);
    _mm512_mask_storeu_ps(h + j, m, hn);
    if (y) _mm512_mask_storeu_ps(y + j, m, hn);
  }
}

// Backward of units [u0, u1) of one active row in 16-unit vectors.
SIGNET_AVX512 void row_backward_avx512(int64_t H, int64_t u0, int64_t u1, const float* s,
                                       const float* cp, const float* c, const float* dy, float* dh,
                                       float* dc, float* dg) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t j = u0; j < u1; j += 16) {
    const __mmask16 m = tail_mask(u1, j);
    const __m512 i = _mm512_maskz_loadu_ps(m, s + j), f = _mm512_maskz_loadu_ps(m, s + H + j);
    const __m512 g = _mm512_maskz_loadu_ps(m, s + 2 * H + j);
    const __m512 o = _mm512_maskz_loadu_ps(m, s + 3 * H + j);
    __m512 dhj = _mm512_maskz_loadu_ps(m, dh + j);
    if (dy) dhj = _mm512_add_ps(dhj, _mm512_maskz_loadu_ps(m, dy + j));
    const __m512 tc = tanh16(_mm512_maskz_loadu_ps(m, c + j));
    const __m512 dct = _mm512_fmadd_ps(_mm512_mul_ps(dhj, o), _mm512_fnmadd_ps(tc, tc, one),
                                       _mm512_maskz_loadu_ps(m, dc + j));
    const __m512 cpj = _mm512_maskz_loadu_ps(m, cp + j);
    const __m512 dai =
        _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dct, g), i), _mm512_sub_ps(one, i));
    const __m512 daf =
        _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dct, cpj), f), _mm512_sub_ps(one, f));
    const __m512 dag = _mm512_mul_ps(_mm512_mul_ps(dct, i), _mm512_fnmadd_ps(g, g, one));
    const __m512 dao =
        _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dhj, tc), o), _mm512_sub_ps(one, o));
    _mm512_mask_storeu_ps(dg + j, m, dai);
    _mm512_mask_storeu_ps(dg + H + j, m, daf);
    _mm512_mask_storeu_ps(dg + 2 * H + j, m, dag);
    _mm512_mask_storeu_ps(dg + 3 * H + j, m, dao);
    _mm512_mask_storeu_ps(dc + j, m, _mm512_mul_ps(dct, f));
    _mm512_mask_storeu_ps(dh + j, m, _mm512_setzero_ps());
  }
}

// sigmoid or tanh of n values in 16-lane vectors.
template <bool kTanh>
SIGNET_AVX512 void activate_avx512(const float* x, float* y, int64_t n) {
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 m = tail_mask(n, k);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + k);
    _mm512_mask_storeu_ps(y + k, m, kTanh ? tanh16(v) : sigmoid16(v));
  }
}
#endif

// The thread count for a step of rows x H units: fewer when the work is small.
int cell_threads(const LstmCellDesc& d, int threads) {
  const int64_t want = std::max<int64_t>(1, d.batch * d.hidden / kUnitsPerThreadMin);
  return static_cast<int>(std::min<int64_t>(threads, want));
}

}  // namespace

void lstm_sigmoid(const float* x, float* y, int64_t n, SimdPath path) {
#if defined(__x86_64__)
  if (path == SimdPath::avx512) return activate_avx512<false>(x, y, n);
#endif
  (void)path;
  for (int64_t k = 0; k < n; ++k) y[k] = sigmoid1(x[k]);
}

void lstm_tanh(const float* x, float* y, int64_t n, SimdPath path) {
#if defined(__x86_64__)
  if (path == SimdPath::avx512) return activate_avx512<true>(x, y, n);
#endif
  (void)path;
  for (int64_t k = 0; k < n; ++k) y[k] = tanh1(x[k]);
}

void lstm_cell_forward_v2(const LstmCellDesc& d, const int64_t* lengths, const float* gates,
                          const float* c_prev, const float* h_prev, float* act, float* c, float* h,
                          float* y, int threads, SimdPath path) {
  lstm_cell_forward_sum_v2(d, lengths, gates, nullptr, c_prev, h_prev, act, c, h, y, threads, path);
}

void lstm_cell_forward_units(const LstmCellDesc& d, const int64_t* lengths, const float* gates,
                             const float* gates2, int64_t gates2_stride, const float* c_prev,
                             const float* h_prev, float* act, float* c, float* h, float* y,
                             int64_t b0, int64_t b1, int64_t u0, int64_t u1, SimdPath path) {
  const int64_t H = d.hidden;
  if (u0 >= u1) return;
  for (int64_t b = b0; b < b1; ++b) {
    const float* a = gates + b * 4 * H;
    const float* a2 = gates2 ? gates2 + b * gates2_stride : nullptr;
    float* s = act + b * 4 * H;
    const float* cp = c_prev + b * H;
    float* cb = c + b * H;
    float* hb = h + b * H;
    float* yb = y ? y + b * H : nullptr;
    if (!kernels::lstm_row_active(d, lengths, b)) {
      for (int k = 0; k < 4; ++k) std::fill(s + k * H + u0, s + k * H + u1, 0.0f);
      std::copy(cp + u0, cp + u1, cb + u0);
      std::copy(h_prev + b * H + u0, h_prev + b * H + u1, hb + u0);
      if (yb) std::fill(yb + u0, yb + u1, 0.0f);
      continue;
    }
#if defined(__x86_64__)
    if (path == SimdPath::avx512) {
      row_forward_avx512(H, u0, u1, a, a2, cp, s, cb, hb, yb);
      continue;
    }
#endif
    row_forward_portable(H, u0, u1, a, a2, cp, s, cb, hb, yb);
  }
}

void lstm_cell_backward_units(const LstmCellDesc& d, const int64_t* lengths, const float* act,
                              const float* c_prev, const float* c, const float* dy, float* dh,
                              float* dc, float* dgates, int64_t b0, int64_t b1, int64_t u0,
                              int64_t u1, SimdPath path) {
  const int64_t H = d.hidden;
  if (u0 >= u1) return;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t k = b * H;
    float* dg = dgates + b * 4 * H;
    if (!kernels::lstm_row_active(d, lengths, b)) {
      for (int g = 0; g < 4; ++g) std::fill(dg + g * H + u0, dg + g * H + u1, 0.0f);
      continue;
    }
    const float* dyb = dy ? dy + k : nullptr;
#if defined(__x86_64__)
    if (path == SimdPath::avx512) {
      row_backward_avx512(H, u0, u1, act + 4 * k, c_prev + k, c + k, dyb, dh + k, dc + k, dg);
      continue;
    }
#endif
    row_backward_portable(H, u0, u1, act + 4 * k, c_prev + k, c + k, dyb, dh + k, dc + k, dg);
  }
}

void lstm_cell_forward_sum_v2(const LstmCellDesc& d, const int64_t* lengths, const float* gates,
                              const float* gates2, const float* c_prev, const float* h_prev,
                              float* act, float* c, float* h, float* y, int threads,
                              SimdPath path) {
  parallel_ranges(d.batch, cell_threads(d, threads), [&](int, int64_t lo, int64_t hi) {
    lstm_cell_forward_units(d, lengths, gates, gates2, 4 * d.hidden, c_prev, h_prev, act, c, h, y,
                            lo, hi, 0, d.hidden, path);
  });
}

void lstm_cell_backward_v2(const LstmCellDesc& d, const int64_t* lengths, const float* act,
                           const float* c_prev, const float* c, const float* dy, float* dh,
                           float* dc, float* dgates, int threads, SimdPath path) {
  parallel_ranges(d.batch, cell_threads(d, threads), [&](int, int64_t lo, int64_t hi) {
    lstm_cell_backward_units(d, lengths, act, c_prev, c, dy, dh, dc, dgates, lo, hi, 0, d.hidden,
                             path);
  });
}

}  // namespace signet::cpu
