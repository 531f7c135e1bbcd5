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
// Floats per f32 partial sum of the AVX2 and AVX-512 reductions: each of the 16 (AVX2) or 32
// (AVX-512) lanes adds at most 128 or 64 terms in f32 before the block's lanes are added into the
// double total.
constexpr int64_t kSumBlock = 2048;

// The sum of the 16 float lanes of (a, b) in double, in a fixed order.
__attribute__((target("avx2"))) inline double hsum16(__m256 a, __m256 b) {
  alignas(32) float l[16];
  _mm256_store_ps(l, a);
  _mm256_store_ps(l + 8, b);
  double h[8];
  for (int j = 0; j < 8; ++j) h[j] = static_cast<double>(l[j]) + static_cast<double>(l[j + 8]);
  return ((h[0] + h[1]) + (h[2] + h[3])) + ((h[4] + h[5]) + (h[6] + h[7]));
}

// shifted_sums on AVX2: per block of kSumBlock floats, f32 sums of v = x - k and v^2 in two
// chains of 8 lanes (16 floats a step, the block's tail scalar into lane 0 of the first chain),
// then added into acc in double.
__attribute__((target("avx2,fma"))) void shifted_sums_avx2(const float* x, int64_t n, double k,
                                                           Sums& acc) {
  const float kf = static_cast<float>(k);
  const __m256 kv = _mm256_set1_ps(kf);
  for (int64_t b0 = 0; b0 < n; b0 += kSumBlock) {
    const int64_t b1 = b0 + kSumBlock < n ? b0 + kSumBlock : n;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
    int64_t i = b0;
    for (; i + 16 <= b1; i += 16) {
      const __m256 v0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), kv);
      const __m256 v1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), kv);
      s0 = _mm256_add_ps(s0, v0);
      s1 = _mm256_add_ps(s1, v1);
      q0 = _mm256_fmadd_ps(v0, v0, q0);
      q1 = _mm256_fmadd_ps(v1, v1, q1);
    }
    double sum = hsum16(s0, s1), sq = hsum16(q0, q1);
    for (; i < b1; ++i) {
      const double v = static_cast<double>(x[i] - kf);
      sum += v;
      sq += v * v;
    }
    acc.a += sum;
    acc.b += sq;
  }
}

// grad_sums on AVX2: per block of kSumBlock floats, f32 sums of dy and dy (x - m) in two chains
// of 8 lanes (16 floats a step, the block's tail in double), then added into acc in double.
__attribute__((target("avx2,fma"))) void grad_sums_avx2(const float* x, const float* dy, int64_t n,
                                                        double m, Sums& acc) {
  const float mf = static_cast<float>(m);
  const __m256 mv = _mm256_set1_ps(mf);
  for (int64_t b0 = 0; b0 < n; b0 += kSumBlock) {
    const int64_t b1 = b0 + kSumBlock < n ? b0 + kSumBlock : n;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
    int64_t i = b0;
    for (; i + 16 <= b1; i += 16) {
      const __m256 g0 = _mm256_loadu_ps(dy + i), g1 = _mm256_loadu_ps(dy + i + 8);
      s0 = _mm256_add_ps(s0, g0);
      s1 = _mm256_add_ps(s1, g1);
      q0 = _mm256_fmadd_ps(g0, _mm256_sub_ps(_mm256_loadu_ps(x + i), mv), q0);
      q1 = _mm256_fmadd_ps(g1, _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mv), q1);
    }
    double sum = hsum16(s0, s1), sx = hsum16(q0, q1);
    for (; i < b1; ++i) {
      const double g = static_cast<double>(dy[i]);
      sum += g;
      sx += g * static_cast<double>(x[i] - mf);
    }
    acc.a += sum;
    acc.b += sx;
  }
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

// The sum of the 16 float lanes of v in double, in a fixed order.
__attribute__((target("avx512f"))) inline double hsum16(__m512 v) {
  alignas(64) float l[16];
  _mm512_store_ps(l, v);
  double h[8];
  for (int j = 0; j < 8; ++j) h[j] = static_cast<double>(l[j]) + static_cast<double>(l[j + 8]);
  return ((h[0] + h[1]) + (h[2] + h[3])) + ((h[4] + h[5]) + (h[6] + h[7]));
}

// The mask of the first r (< 16) lanes.
inline __mmask16 head_mask(int64_t r) {
  return static_cast<__mmask16>((1u << r) - 1u);
}

// shifted_sums on AVX-512: per block of kSumBlock floats, f32 sums of v = x - k and v^2 in two
// chains of 16 lanes (32 floats a step, the tail under a mask), then added into acc in double.
__attribute__((target("avx512f,avx2,fma"))) void shifted_sums_avx512(const float* x, int64_t n,
                                                                     double k, Sums& acc) {
  const __m512 kv = _mm512_set1_ps(static_cast<float>(k));
  for (int64_t b0 = 0; b0 < n; b0 += kSumBlock) {
    const int64_t b1 = b0 + kSumBlock < n ? b0 + kSumBlock : n;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
    int64_t i = b0;
    for (; i + 32 <= b1; i += 32) {
      const __m512 v0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), kv);
      const __m512 v1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), kv);
      s0 = _mm512_add_ps(s0, v0);
      s1 = _mm512_add_ps(s1, v1);
      q0 = _mm512_fmadd_ps(v0, v0, q0);
      q1 = _mm512_fmadd_ps(v1, v1, q1);
    }
    for (; i < b1; i += 16) {
      const __mmask16 m = b1 - i >= 16 ? static_cast<__mmask16>(0xFFFF) : head_mask(b1 - i);
      const __m512 v = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), kv);
      s0 = _mm512_add_ps(s0, v);
      q0 = _mm512_fmadd_ps(v, v, q0);
    }
    acc.a += hsum16(_mm512_add_ps(s0, s1));
    acc.b += hsum16(_mm512_add_ps(q0, q1));
  }
}

// grad_sums on AVX-512: per block of kSumBlock floats, f32 sums of dy and dy (x - m) in two
// chains of 16 lanes (32 floats a step, the tail under a mask), then added into acc in double.
__attribute__((target("avx512f,avx2,fma"))) void grad_sums_avx512(const float* x, const float* dy,
                                                                  int64_t n, double m, Sums& acc) {
  const __m512 mv = _mm512_set1_ps(static_cast<float>(m));
  for (int64_t b0 = 0; b0 < n; b0 += kSumBlock) {
    const int64_t b1 = b0 + kSumBlock < n ? b0 + kSumBlock : n;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
    int64_t i = b0;
    for (; i + 32 <= b1; i += 32) {
      const __m512 g0 = _mm512_loadu_ps(dy + i), g1 = _mm512_loadu_ps(dy + i + 16);
      s0 = _mm512_add_ps(s0, g0);
      s1 = _mm512_add_ps(s1, g1);
      q0 = _mm512_fmadd_ps(g0, _mm512_sub_ps(_mm512_loadu_ps(x + i), mv), q0);
      q1 = _mm512_fmadd_ps(g1, _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mv), q1);
    }
    for (; i < b1; i += 16) {
      const __mmask16 k = b1 - i >= 16 ? static_cast<__mmask16>(0xFFFF) : head_mask(b1 - i);
      const __m512 g = _mm512_maskz_loadu_ps(k, dy + i);
      s0 = _mm512_add_ps(s0, g);
      q0 = _mm512_fmadd_ps(g, _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + i), mv), q0);
    }
    acc.a += hsum16(_mm512_add_ps(s0, s1));
    acc.b += hsum16(_mm512_add_ps(q0, q1));
  }
}

// Stores v at p: non-temporally when nt (p 64-byte aligned), else as usual.
__attribute__((target("avx512f"), always_inline)) inline void store16(float* p, __m512 v, bool nt) {
  if (nt)
    _mm512_stream_ps(p, v);
  else
    _mm512_storeu_ps(p, v);
}

// affine on AVX-512: 16 floats a step, the tail under a mask; with kStream and y 64-byte
// aligned the full vectors are stored non-temporally.
template <bool kStream>
__attribute__((target("avx512f"))) void affine_avx512(const float* x, int64_t n, float m, float a,
                                                      float c, float* y) {
  const __m512 mv = _mm512_set1_ps(m), av = _mm512_set1_ps(a), cv = _mm512_set1_ps(c);
  const bool nt = kStream && reinterpret_cast<uintptr_t>(y) % 64 == 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    store16(y + i, _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv), av, cv), nt);
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
    _mm512_mask_storeu_ps(y + i, k, _mm512_fmadd_ps(_mm512_sub_ps(v, mv), av, cv));
  }
  if (nt) _mm_sfence();
}

// affine2 on AVX-512: 16 floats a step, the tail under a mask; with kStream and dx 64-byte
// aligned the full vectors are stored non-temporally.
template <bool kStream>
__attribute__((target("avx512f"))) void affine2_avx512(const float* dy, const float* x, int64_t n,
                                                       float m, float a, float b, float c,
                                                       float* dx) {
  const __m512 mv = _mm512_set1_ps(m), av = _mm512_set1_ps(a), bv = _mm512_set1_ps(b),
               cv = _mm512_set1_ps(c);
  const bool nt = kStream && reinterpret_cast<uintptr_t>(dx) % 64 == 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 t = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv), bv, cv);
    store16(dx + i, _mm512_fmadd_ps(_mm512_loadu_ps(dy + i), av, t), nt);
  }
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 t = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv), bv, cv);
    _mm512_mask_storeu_ps(dx + i, k, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, dy + i), av, t));
  }
  if (nt) _mm_sfence();
}
#endif

// The row functions of one SIMD path.
struct Rows {
  void (*shifted_sums)(const float*, int64_t, double, Sums&);
  void (*grad_sums)(const float*, const float*, int64_t, double, Sums&);
  void (*affine)(const float*, int64_t, float, float, float, float*);
  void (*affine2)(const float*, const float*, int64_t, float, float, float, float, float*);
};

// Tensors of at least this many bytes get their outputs (y, dx) stored non-temporally on the
// AVX-512 path: far beyond the cores' caches, the read for ownership of the output is wasted
// traffic (the forward + backward then moves the 5 tensors of the bench's accounting).
constexpr int64_t kStreamBytes = int64_t{16} << 20;

// The rows for path, streaming outputs when the tensor of d is large.
Rows rows_for(SimdPath path, const kernels::BatchNormDesc& d) {
#if defined(__x86_64__)
  if (path == SimdPath::avx512) {
    if (d.n * d.c * d.inner * static_cast<int64_t>(sizeof(float)) >= kStreamBytes)
      return {&shifted_sums_avx512, &grad_sums_avx512, &affine_avx512<true>, &affine2_avx512<true>};
    return {&shifted_sums_avx512, &grad_sums_avx512, &affine_avx512<false>, &affine2_avx512<false>};
  }
  if (path == SimdPath::avx2)
    return {&shifted_sums_avx2, &grad_sums_avx2, &affine_avx2, &affine2_avx2};
#endif
  (void)path;
  (void)d;
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
  const Rows r = rows_for(path, d);
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
  const Rows r = rows_for(path, d);
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
  const Rows r = rows_for(path, d);
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
