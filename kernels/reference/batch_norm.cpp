// Reference batch norm: one channel at a time, two passes for the statistics, sums in double.
#include "kernels/reference/batch_norm.h"

#include <cmath>
#include <cstdint>

namespace signet::ref {
namespace {

// The index of element (b, ch, i) in (n, c, inner).
inline int64_t at(const kernels::BatchNormDesc& d, int64_t b, int64_t ch, int64_t i) {
  return (b * d.c + ch) * d.inner + i;
}

// y = (x - m) * is * w + b over channel ch.
template <class T>
void apply_channel(const kernels::BatchNormDesc& d, int64_t ch, const T* x, double m, double is,
                   const T* weight, const T* bias, T* y) {
  const double w = weight ? static_cast<double>(weight[ch]) : 1.0;
  const double bb = bias ? static_cast<double>(bias[ch]) : 0.0;
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t i = 0; i < d.inner; ++i) {
      const int64_t e = at(d, b, ch, i);
      y[e] = static_cast<T>((static_cast<double>(x[e]) - m) * is * w + bb);
    }
}

}  // namespace

// Mean first, then the mean of squared deviations (two passes: no cancellation), then y.
template <class T>
void batch_norm_forward_train(const kernels::BatchNormDesc& d, const T* x, const T* weight,
                              const T* bias, T* y, T* mean, T* var, T* invstd) {
  const double count = static_cast<double>(d.n * d.inner);
  for (int64_t ch = 0; ch < d.c; ++ch) {
    double s = 0;
    for (int64_t b = 0; b < d.n; ++b)
      for (int64_t i = 0; i < d.inner; ++i) s += static_cast<double>(x[at(d, b, ch, i)]);
    const double m = s / count;
    double ss = 0;
    for (int64_t b = 0; b < d.n; ++b)
      for (int64_t i = 0; i < d.inner; ++i) {
        const double v = static_cast<double>(x[at(d, b, ch, i)]) - m;
        ss += v * v;
      }
    const double is = 1.0 / std::sqrt(ss / count + d.eps);
    mean[ch] = static_cast<T>(m);
    var[ch] = static_cast<T>(ss / count);
    invstd[ch] = static_cast<T>(is);
    apply_channel(d, ch, x, m, is, weight, bias, y);
  }
}

// Normalises each channel with the given statistics.
template <class T>
void batch_norm_forward_eval(const kernels::BatchNormDesc& d, const T* x, const T* mean,
                             const T* var, const T* weight, const T* bias, T* y) {
  for (int64_t ch = 0; ch < d.c; ++ch)
    apply_channel(d, ch, x, static_cast<double>(mean[ch]),
                  1.0 / std::sqrt(static_cast<double>(var[ch]) + d.eps), weight, bias, y);
}

// Per channel: sum(dy) and sum(dy * xhat), then dx from the formula in the header.
template <class T>
void batch_norm_backward(const kernels::BatchNormDesc& d, const T* x, const T* dy, const T* mean,
                         const T* invstd, const T* weight, bool training, T* dx, T* dweight,
                         T* dbias) {
  const double count = static_cast<double>(d.n * d.inner);
  for (int64_t ch = 0; ch < d.c; ++ch) {
    const double m = static_cast<double>(mean[ch]);
    const double is = static_cast<double>(invstd[ch]);
    double sdy = 0, sdyxhat = 0;
    for (int64_t b = 0; b < d.n; ++b)
      for (int64_t i = 0; i < d.inner; ++i) {
        const int64_t e = at(d, b, ch, i);
        sdy += static_cast<double>(dy[e]);
        sdyxhat += static_cast<double>(dy[e]) * (static_cast<double>(x[e]) - m) * is;
      }
    if (dweight) dweight[ch] = static_cast<T>(sdyxhat);
    if (dbias) dbias[ch] = static_cast<T>(sdy);
    if (!dx) continue;
    const double w = weight ? static_cast<double>(weight[ch]) : 1.0;
    for (int64_t b = 0; b < d.n; ++b)
      for (int64_t i = 0; i < d.inner; ++i) {
        const int64_t e = at(d, b, ch, i);
        const double g = static_cast<double>(dy[e]);
        const double xhat = (static_cast<double>(x[e]) - m) * is;
        dx[e] = static_cast<T>(training ? w * is * (g - sdy / count - xhat * sdyxhat / count)
                                        : w * is * g);
      }
  }
}

template void batch_norm_forward_train<float>(const kernels::BatchNormDesc&, const float*,
                                              const float*, const float*, float*, float*, float*,
                                              float*);
template void batch_norm_forward_train<double>(const kernels::BatchNormDesc&, const double*,
                                               const double*, const double*, double*, double*,
                                               double*, double*);
template void batch_norm_forward_eval<float>(const kernels::BatchNormDesc&, const float*,
                                             const float*, const float*, const float*, const float*,
                                             float*);
template void batch_norm_forward_eval<double>(const kernels::BatchNormDesc&, const double*,
                                              const double*, const double*, const double*,
                                              const double*, double*);
template void batch_norm_backward<float>(const kernels::BatchNormDesc&, const float*, const float*,
                                         const float*, const float*, const float*, bool, float*,
                                         float*, float*);
template void batch_norm_backward<double>(const kernels::BatchNormDesc&, const double*,
                                          const double*, const double*, const double*,
                                          const double*, bool, double*, double*, double*);

}  // namespace signet::ref
