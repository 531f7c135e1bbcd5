#include "kernels/cpu/optim.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/threads.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

// Calls body(i0, i1) on contiguous shares of [0, n) (multiples of 16 elements) over the threads.
template <class Body>
void split(int64_t n, int threads, const Body& body) {
  if (n <= 0) return;
  parallel_ranges((n + 15) / 16, threads, [&](int, int64_t c0, int64_t c1) {
    const int64_t i0 = std::min(n, c0 * 16), i1 = std::min(n, c1 * 16);
    if (i0 < i1) body(i0, i1);
  });
}

// SGD on [i0, i1) with the options as template flags (WD: weight decay, MOM: momentum).
template <class T, bool WD, bool MOM, bool FIRST, bool NESTEROV>
void sgd_range(const kernels::SgdDesc& d, T* __restrict param, const T* __restrict grad,
               T* __restrict buf, int64_t i0, int64_t i1) {
  const T lr = static_cast<T>(d.lr), wd = static_cast<T>(d.weight_decay);
  const T mom = static_cast<T>(d.momentum), damp = static_cast<T>(1 - d.dampening);
  for (int64_t i = i0; i < i1; ++i) {
    T g = grad[i];
    if (WD) g = g + wd * param[i];
    if (MOM) {
      const T b = FIRST ? g : buf[i] * mom + damp * g;
      buf[i] = b;
      g = NESTEROV ? g + mom * b : b;
    }
    param[i] = param[i] - lr * g;
  }
}

constexpr int64_t kBlock = 256;  // elements per pass of the three-loop (vectorisable) bodies

// out[k] = sqrt(in[k]) for k < n, correctly rounded (vsqrtps / vsqrtpd, as std::sqrt), in
// vectors: std::sqrt itself is not vectorised (it may set errno).
template <class T>
void sqrt_block(const T* in, T* out, int64_t n) {
  int64_t k = 0;
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(out + k, _mm256_sqrt_ps(_mm256_loadu_ps(in + k)));
  } else {
    for (; k + 4 <= n; k += 4) _mm256_storeu_pd(out + k, _mm256_sqrt_pd(_mm256_loadu_pd(in + k)));
  }
#endif
  for (; k < n; ++k) out[k] = std::sqrt(in[k]);
}

// Adam on [i0, i1) with the options as template flags (DEC: AdamW, WD: coupled decay), in
// blocks: moments and the second-moment term, their square roots, then the parameter.
template <class T, bool DEC, bool WD, bool AMS>
void adam_range(const kernels::AdamDesc& d, T* __restrict param, const T* __restrict grad,
                T* __restrict m, T* __restrict v, T* __restrict vmax, int64_t i0, int64_t i1) {
  const T b1 = static_cast<T>(d.beta1), b2 = static_cast<T>(d.beta2);
  const T one_b1 = static_cast<T>(1 - d.beta1), one_b2 = static_cast<T>(1 - d.beta2);
  const T wd = static_cast<T>(d.weight_decay), decay = static_cast<T>(1 - d.lr * d.weight_decay);
  const T eps = static_cast<T>(d.eps), step_size = static_cast<T>(d.step_size);
  const T bc2 = static_cast<T>(d.bias_correction2_sqrt);
  alignas(64) T second[kBlock];
  for (int64_t s = i0; s < i1; s += kBlock) {
    const int64_t n = std::min(kBlock, i1 - s);
    T* __restrict p = param + s;
    const T* __restrict g = grad + s;
    T* __restrict mb = m + s;
    T* __restrict vb = v + s;
    for (int64_t k = 0; k < n; ++k) {
      T gk = g[k];
      if (WD) gk = gk + wd * p[k];
      mb[k] = mb[k] * b1 + one_b1 * gk;
      const T vk = vb[k] * b2 + one_b2 * gk * gk;
      vb[k] = vk;
      if (AMS) {
        const T mx = std::max(vmax[s + k], vk);
        vmax[s + k] = mx;
        second[k] = mx;
      } else {
        second[k] = vk;
      }
    }
    sqrt_block(second, second, n);
    for (int64_t k = 0; k < n; ++k) {
      const T pk = DEC ? p[k] * decay : p[k];
      const T denom = second[k] / bc2 + eps;
      p[k] = pk - step_size * (mb[k] / denom);
    }
  }
}

// RMSProp on [i0, i1) with the options as template flags, in blocks like adam_range.
template <class T, bool WD, bool CENTERED, bool MOM>
void rmsprop_range(const kernels::RmspropDesc& d, T* __restrict param, const T* __restrict grad,
                   T* __restrict square_avg, T* __restrict grad_avg, T* __restrict buf, int64_t i0,
                   int64_t i1) {
  const T alpha = static_cast<T>(d.alpha), one_alpha = static_cast<T>(1 - d.alpha);
  const T wd = static_cast<T>(d.weight_decay), eps = static_cast<T>(d.eps);
  const T lr = static_cast<T>(d.lr), mom = static_cast<T>(d.momentum);
  alignas(64) T avg[kBlock];
  for (int64_t s = i0; s < i1; s += kBlock) {
    const int64_t n = std::min(kBlock, i1 - s);
    T* __restrict p = param + s;
    const T* __restrict g = grad + s;
    T* __restrict sq = square_avg + s;
    for (int64_t k = 0; k < n; ++k) {
      T gk = g[k];
      if (WD) gk = gk + wd * p[k];
      const T sk = sq[k] * alpha + one_alpha * gk * gk;
      sq[k] = sk;
      if (CENTERED) {
        const T ga = grad_avg[s + k] * alpha + one_alpha * gk;
        grad_avg[s + k] = ga;
        avg[k] = sk - ga * ga;
      } else {
        avg[k] = sk;
      }
    }
    sqrt_block(avg, avg, n);
    for (int64_t k = 0; k < n; ++k) {
      T gk = g[k];
      if (WD) gk = gk + wd * p[k];
      const T a = avg[k] + eps;
      if (MOM) {
        const T b = buf[s + k] * mom + gk / a;
        buf[s + k] = b;
        p[k] = p[k] - lr * b;
      } else {
        p[k] = p[k] - lr * (gk / a);
      }
    }
  }
}

// Turns a runtime flag into a template argument: f(std::true_type{}) or f(std::false_type{}).
template <class F>
void with_flag(bool flag, const F& f) {
  if (flag)
    f(std::true_type{});
  else
    f(std::false_type{});
}

}  // namespace

template <class T>
void sgd_step_v2(const kernels::SgdDesc& d, T* param, const T* grad, T* buf, int threads) {
  split(d.n, threads, [&](int64_t i0, int64_t i1) {
    with_flag(d.weight_decay != 0, [&](auto wd) {
      if (d.momentum == 0) {
        sgd_range<T, decltype(wd)::value, false, false, false>(d, param, grad, buf, i0, i1);
        return;
      }
      with_flag(d.first_step, [&](auto first) {
        with_flag(d.nesterov, [&](auto nes) {
          sgd_range<T, decltype(wd)::value, true, decltype(first)::value, decltype(nes)::value>(
              d, param, grad, buf, i0, i1);
        });
      });
    });
  });
}

template <class T>
void adam_step_v2(const kernels::AdamDesc& d, T* param, const T* grad, T* m, T* v, T* vmax,
                  int threads) {
  split(d.n, threads, [&](int64_t i0, int64_t i1) {
    with_flag(d.amsgrad, [&](auto ams) {
      if (d.decoupled)
        adam_range<T, true, false, decltype(ams)::value>(d, param, grad, m, v, vmax, i0, i1);
      else if (d.weight_decay != 0)
        adam_range<T, false, true, decltype(ams)::value>(d, param, grad, m, v, vmax, i0, i1);
      else
        adam_range<T, false, false, decltype(ams)::value>(d, param, grad, m, v, vmax, i0, i1);
    });
  });
}

template <class T>
void rmsprop_step_v2(const kernels::RmspropDesc& d, T* param, const T* grad, T* square_avg,
                     T* grad_avg, T* buf, int threads) {
  split(d.n, threads, [&](int64_t i0, int64_t i1) {
    with_flag(d.weight_decay != 0, [&](auto wd) {
      with_flag(d.centered, [&](auto c) {
        with_flag(d.momentum > 0, [&](auto mom) {
          rmsprop_range<T, decltype(wd)::value, decltype(c)::value, decltype(mom)::value>(
              d, param, grad, square_avg, grad_avg, buf, i0, i1);
        });
      });
    });
  });
}

template void sgd_step_v2<float>(const kernels::SgdDesc&, float*, const float*, float*, int);
template void sgd_step_v2<double>(const kernels::SgdDesc&, double*, const double*, double*, int);
template void adam_step_v2<float>(const kernels::AdamDesc&, float*, const float*, float*, float*,
                                  float*, int);
template void adam_step_v2<double>(const kernels::AdamDesc&, double*, const double*, double*,
                                   double*, double*, int);
template void rmsprop_step_v2<float>(const kernels::RmspropDesc&, float*, const float*, float*,
                                     float*, float*, int);
template void rmsprop_step_v2<double>(const kernels::RmspropDesc&, double*, const double*, double*,
                                      double*, double*, int);

}  // namespace signet::cpu
