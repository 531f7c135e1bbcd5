// Fast CPU batch norm: channel-fused statistics and apply passes, AVX2 or portable rows.
#include "kernels/cpu/batch_norm.h"

#include <cmath>
#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

// Running sums of one channel: s and ss for the forward, or sdy and sdyx for the backward.
struct Sums {
  double a = 0;
  double b = 0;
};

// Adds sum(x - k) and sum((x - k)^2) over x[0 .. n) to acc (portable; 4 lanes, fixed order).
void shifted_sums_portable(const float* x, int64_t n, double k, Sums& acc) {
  double s[4] = {0, 0, 0, 0}, ss[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) {
      const double v = static_cast<double>(x[i + j]) - k;
      s[j] += v;
      ss[j] += v * v;
    }
  for (; i < n; ++i) {
    const double v = static_cast<double>(x[i]) - k;
    s[0] += v;
    ss[0] += v * v;
  }
  acc.a += (s[0] + s[1]) + (s[2] + s[3]);
  acc.b += (ss[0] + ss[1]) + (ss[2] + ss[3]);
}

// Adds sum(dy) and sum(dy (x - m)) over [0 .. n) to acc (portable; 4 lanes, fixed order).
void grad_sums_portable(const float* x, const float* dy, int64_t n, double m, Sums& acc) {
  double s[4] = {0, 0, 0, 0}, sx[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) {
      const double g = static_cast<double>(dy[i + j]);
      s[j] += g;
      sx[j] += g * (static_cast<double>(x[i + j]) - m);
    }
  for (; i < n; ++i) {
    const double g = static_cast<double>(dy[i]);
    s[0] += g;
    sx[0] += g * (static_cast<double>(x[i]) - m);
  }
  acc.a += (s[0] + s[1]) + (s[2] + s[3]);
  acc.b += (sx[0] + sx[1]) + (sx[2] + sx[3]);
}

// y = (x - m) a + c over [0 .. n) (portable).
void affine_portable(const float* x, int64_t n, float m, float a, float c, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i] - m, a, c);
}

// dx = dy a + (x - m) b + c over [0 .. n) (portable).
void affine2_portable(const float* dy, const float* x, int64_t n, float m, float a, float b,
                      float c, float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = std::fma(dy[i], a, std::fma(x[i] - m, b, c));
}

#if defined(__x86_64__)
// The sum of the 4 double lanes of v, in the fixed order (l0 + l1) + (l2 + l3).
__attribute__((target("avx2"))) inline double hsum4(__m256d v) {
  alignas(32) double l[4];
  _mm256_store_pd(l, v);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

// The 8 floats at p widened to two double vectors, minus k.
__attribute__((target("avx2"), always_inline)) inline void widen8(const float* p, __m256d k,
                                                                  __m256d& lo, __m256d& hi) {
  const __m256 v = _mm256_loadu_ps(p);
  lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), k);
  hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), k);
}

// shifted_sums on AVX2: 16 floats a step into 4 independent double chains; the tail is scalar.
__attribute__((target("avx2,fma"))) void shifted_sums_avx2(const float* x, int64_t n, double k,
                                                           Sums& acc) {
  const __m256d kv = _mm256_set1_pd(k);
  __m256d s[4], q[4];
  for (int j = 0; j < 4; ++j) s[j] = q[j] = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int h = 0; h < 2; ++h) {
      __m256d lo, hi;
      widen8(x + i + 8 * h, kv, lo, hi);
      s[2 * h] = _mm256_add_pd(s[2 * h], lo);
      s[2 * h + 1] = _mm256_add_pd(s[2 * h + 1], hi);
      q[2 * h] = _mm256_fmadd_pd(lo, lo, q[2 * h]);
      q[2 * h + 1] = _mm256_fmadd_pd(hi, hi, q[2 * h + 1]);
    }
  double sum = hsum4(_mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
  double sq = hsum4(_mm256_add_pd(_mm256_add_pd(q[0], q[1]), _mm256_add_pd(q[2], q[3])));
  for (; i < n; ++i) {
    const double v = static_cast<double>(x[i]) - k;
    sum += v;
    sq += v * v;
  }
  acc.a += sum;
  acc.b += sq;
}

// grad_sums on AVX2: 16 floats a step into 4 independent double chains; the tail is scalar.
__attribute__((target("avx2,fma"))) void grad_sums_avx2(const float* x, const float* dy, int64_t n,
                                                        double m, Sums& acc) {
  const __m256d mv = _mm256_set1_pd(m), zero = _mm256_setzero_pd();
  __m256d s[4], q[4];
  for (int j = 0; j < 4; ++j) s[j] = q[j] = zero;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int h = 0; h < 2; ++h) {
      __m256d glo, ghi, xlo, xhi;
      widen8(dy + i + 8 * h, zero, glo, ghi);
      widen8(x + i + 8 * h, mv, xlo, xhi);
      s[2 * h] = _mm256_add_pd(s[2 * h], glo);
      s[2 * h + 1] = _mm256_add_pd(s[2 * h + 1], ghi);
      q[2 * h] = _mm256_fmadd_pd(glo, xlo, q[2 * h]);
      q[2 * h + 1] = _mm256_fmadd_pd(ghi, xhi, q[2 * h + 1]);
    }
  double sum = hsum4(_mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
  double sx = hsum4(_mm256_add_pd(_mm256_add_pd(q[0], q[1]), _mm256_add_pd(q[2], q[3])));
  for (; i < n; ++i) {
    const double g = static_cast<double>(dy[i]);
    sum += g;
    sx += g * (static_cast<double>(x[i]) - m);
  }
  acc.a += sum;
  acc.b += sx;
}

// affine on AVX2 (16 floats a step, then 8, then scalar).
__attribute__((target("avx2,fma"))) void affine_avx2(const float* x, int64_t n, float m, float a,
                                                     float c, float* y) {
  const __m256 mv = _mm256_set1_ps(m), av = _mm256_set1_ps(a), cv = _mm256_set1_ps(c);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv), av, cv));
  for (; i < n; ++i) y[i] = std::fma(x[i] - m, a, c);
}

// affine2 on AVX2 (8 floats a step, then scalar).
__attribute__((target("avx2,fma"))) void affine2_avx2(const float* dy, const float* x, int64_t n,
                                                      float m, float a, float b, float c,
                                                      float* dx) {
  const __m256 mv = _mm256_set1_ps(m), av = _mm256_set1_ps(a), bv = _mm256_set1_ps(b),
               cv = _mm256_set1_ps(c);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 t = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv), bv, cv);
    _mm256_storeu_ps(dx + i, _mm256_fmadd_ps(_mm256_loadu_ps(dy + i), av, t));
  }
  for (; i < n; ++i) dx[i] = std::fma(dy[i], a, std::fma(x[i] - m, b, c));
}

// The sum of the 8 double lanes of v, in the fixed order of hsum4 on its two halves.
__attribute__((target("avx512f"))) inline double hsum8(__m512d v) {
  alignas(64) double l[8];
  _mm512_store_pd(l, v);
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

// The 16 floats at p widened to two double vectors, minus k (maskz forms: GCC 12 warns on the
// undefined-source ones).
__attribute__((target("avx512f"), always_inline)) inline void widen16(const float* p, __m512d k,
                                                                      __m512d& lo, __m512d& hi) {
  lo = _mm512_sub_pd(_mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p)), k);
  hi = _mm512_sub_pd(_mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p + 8)), k);
}

// shifted_sums on AVX-512: 16 floats a step into 2 double chains each; the tail is scalar.
__attribute__((target("avx512f,avx2,fma"))) void shifted_sums_avx512(const float* x, int64_t n,
                                                                     double k, Sums& acc) {
  const __m512d kv = _mm512_set1_pd(k);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512d lo, hi;
    widen16(x + i, kv, lo, hi);
    s0 = _mm512_add_pd(s0, lo);
    s1 = _mm512_add_pd(s1, hi);
    q0 = _mm512_fmadd_pd(lo, lo, q0);
    q1 = _mm512_fmadd_pd(hi, hi, q1);
  }
  double sum = hsum8(_mm512_add_pd(s0, s1)), sq = hsum8(_mm512_add_pd(q0, q1));
  for (; i < n; ++i) {
    const double v = static_cast<double>(x[i]) - k;
    sum += v;
    sq += v * v;
  }
  acc.a += sum;
  acc.b += sq;
}

// grad_sums on AVX-512: 16 floats a step into 2 double chains each; the tail is scalar.
__attribute__((target("avx512f,avx2,fma"))) void grad_sums_avx512(const float* x, const float* dy,
                                                                  int64_t n, double m, Sums& acc) {
  const __m512d mv = _mm512_set1_pd(m), zero = _mm512_setzero_pd();
  __m512d s0 = zero, s1 = zero, q0 = zero, q1 = zero;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512d glo, ghi, xlo, xhi;
    widen16(dy + i, zero, glo, ghi);
    widen16(x + i, mv, xlo, xhi);
    s0 = _mm512_add_pd(s0, glo);
    s1 = _mm512_add_pd(s1, ghi);
    q0 = _mm512_fmadd_pd(glo, xlo, q0);
    q1 = _mm512_fmadd_pd(ghi, xhi, q1);
  }
  double sum = hsum8(_mm512_add_pd(s0, s1)), sx = hsum8(_mm512_add_pd(q0, q1));
  for (; i < n; ++i) {
    const double g = static_cast<double>(dy[i]);
    sum += g;
    sx += g * (static_cast<double>(x[i]) - m);
  }
  acc.a += sum;
  acc.b += sx;
}

// affine on AVX-512: 16 floats a step, the tail under a mask.
__attribute__((target("avx512f"))) void affine_avx512(const float* x, int64_t n, float m, float a,
                                                      float c, float* y) {
  const __m512 mv = _mm512_set1_ps(m), av = _mm512_set1_ps(a), cv = _mm512_set1_ps(c);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv), av, cv));
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
    _mm512_mask_storeu_ps(y + i, k, _mm512_fmadd_ps(_mm512_sub_ps(v, mv), av, cv));
  }
}

// affine2 on AVX-512: 16 floats a step, the tail under a mask.
__attribute__((target("avx512f"))) void affine2_avx512(const float* dy, const float* x, int64_t n,
                                                       float m, float a, float b, float c,
                                                       float* dx) {
  const __m512 mv = _mm512_set1_ps(m), av = _mm512_set1_ps(a), bv = _mm512_set1_ps(b),
               cv = _mm512_set1_ps(c);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 t = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv), bv, cv);
    _mm512_storeu_ps(dx + i, _mm512_fmadd_ps(_mm512_loadu_ps(dy + i), av, t));
  }
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 t = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv), bv, cv);
    _mm512_mask_storeu_ps(dx + i, k, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, dy + i), av, t));
  }
}
#endif

// The row functions of one SIMD path.
struct Rows {
  void (*shifted_sums)(const float*, int64_t, double, Sums&);
  void (*grad_sums)(const float*, const float*, int64_t, double, Sums&);
  void (*affine)(const float*, int64_t, float, float, float, float*);
  void (*affine2)(const float*, const float*, int64_t, float, float, float, float, float*);
};

// The rows for path.
Rows rows_for(SimdPath path) {
#if defined(__x86_64__)
  if (path == SimdPath::avx512)
    return {&shifted_sums_avx512, &grad_sums_avx512, &affine_avx512, &affine2_avx512};
  if (path == SimdPath::avx2)
    return {&shifted_sums_avx2, &grad_sums_avx2, &affine_avx2, &affine2_avx2};
#endif
  (void)path;
  return {&shifted_sums_portable, &grad_sums_portable, &affine_portable, &affine2_portable};
}

// y = (x - m) is w + b over channel ch, as a subtraction and an fma per element.
void apply_channel(const kernels::BatchNormDesc& d, const Rows& r, int64_t ch, const float* x,
                   double m, double is, const float* weight, const float* bias, float* y) {
  const double a = is * (weight ? static_cast<double>(weight[ch]) : 1.0);
  const double c = bias ? static_cast<double>(bias[ch]) : 0.0;
  for (int64_t b = 0; b < d.n; ++b) {
    const int64_t off = (b * d.c + ch) * d.inner;
    r.affine(x + off, d.inner, static_cast<float>(m), static_cast<float>(a), static_cast<float>(c),
             y + off);
  }
}

}  // namespace

void batch_norm_forward_train_v2(const kernels::BatchNormDesc& d, const float* x,
                                 const float* weight, const float* bias, float* y, float* mean,
                                 float* var, float* invstd, int threads, SimdPath path) {
  const Rows r = rows_for(path);
  const double count = static_cast<double>(d.n * d.inner);
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#else
  (void)threads;
#endif
  for (int64_t ch = 0; ch < d.c; ++ch) {
    const double k = d.n * d.inner > 0 ? static_cast<double>(x[ch * d.inner]) : 0.0;
    Sums acc;
    for (int64_t b = 0; b < d.n; ++b) r.shifted_sums(x + (b * d.c + ch) * d.inner, d.inner, k, acc);
    const double ms = acc.a / count;
    const double v = std::fmax(acc.b / count - ms * ms, 0.0);
    const double is = 1.0 / std::sqrt(v + d.eps);
    mean[ch] = static_cast<float>(k + ms);
    var[ch] = static_cast<float>(v);
    invstd[ch] = static_cast<float>(is);
    apply_channel(d, r, ch, x, k + ms, is, weight, bias, y);
  }
}

void batch_norm_forward_eval_v2(const kernels::BatchNormDesc& d, const float* x, const float* mean,
                                const float* var, const float* weight, const float* bias, float* y,
                                int threads, SimdPath path) {
  const Rows r = rows_for(path);
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#else
  (void)threads;
#endif
  for (int64_t ch = 0; ch < d.c; ++ch)
    apply_channel(d, r, ch, x, static_cast<double>(mean[ch]),
                  1.0 / std::sqrt(static_cast<double>(var[ch]) + d.eps), weight, bias, y);
}

void batch_norm_backward_v2(const kernels::BatchNormDesc& d, const float* x, const float* dy,
                            const float* mean, const float* invstd, const float* weight,
                            bool training, float* dx, float* dweight, float* dbias, int threads,
                            SimdPath path) {
  const Rows r = rows_for(path);
  const double count = static_cast<double>(d.n * d.inner);
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#else
  (void)threads;
#endif
  for (int64_t ch = 0; ch < d.c; ++ch) {
    const double m = static_cast<double>(mean[ch]);
    const double is = static_cast<double>(invstd[ch]);
    Sums acc;
    for (int64_t b = 0; b < d.n; ++b) {
      const int64_t off = (b * d.c + ch) * d.inner;
      r.grad_sums(x + off, dy + off, d.inner, m, acc);
    }
    const double sdy = acc.a, sdyxhat = acc.b * is;
    if (dweight) dweight[ch] = static_cast<float>(sdyxhat);
    if (dbias) dbias[ch] = static_cast<float>(sdy);
    if (!dx) continue;
    // dx = a dy + b (x - m) + c (training) or a dy (evaluation); see the reference header.
    const double a = is * (weight ? static_cast<double>(weight[ch]) : 1.0);
    const double bx = training ? -a * is * sdyxhat / count : 0.0;
    const double c = training ? -a * sdy / count : 0.0;
    for (int64_t b = 0; b < d.n; ++b) {
      const int64_t off = (b * d.c + ch) * d.inner;
      r.affine2(dy + off, x + off, d.inner, static_cast<float>(m), static_cast<float>(a),
                static_cast<float>(bx), static_cast<float>(c), dx + off);
    }
  }
}

}  // namespace signet::cpu
