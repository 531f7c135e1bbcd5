// Reference softmax and log-softmax along the middle axis of (outer, dim, inner), in double.
#include "kernels/reference/softmax.h"

#include <cmath>
#include <cstdint>

namespace signet::ref {

// Per (outer, inner) row: subtract the max, exponentiate, normalise (or subtract log-sum-exp).
template <class T>
void softmax_forward(const kernels::SoftmaxDesc& d, const T* x, T* y, bool log) {
  for (int64_t o = 0; o < d.outer; ++o) {
    for (int64_t i = 0; i < d.inner; ++i) {
      const int64_t base = o * d.dim * d.inner + i;
      double mx = -INFINITY;
      for (int64_t j = 0; j < d.dim; ++j)
        mx = std::fmax(mx, static_cast<double>(x[base + j * d.inner]));
      double sum = 0;
      for (int64_t j = 0; j < d.dim; ++j)
        sum += std::exp(static_cast<double>(x[base + j * d.inner]) - mx);
      const double lse = std::log(sum);
      for (int64_t j = 0; j < d.dim; ++j) {
        const double z = static_cast<double>(x[base + j * d.inner]) - mx;
        y[base + j * d.inner] = static_cast<T>(log ? z - lse : std::exp(z) / sum);
      }
    }
  }
}

// softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy).
template <class T>
void softmax_backward(const kernels::SoftmaxDesc& d, const T* y, const T* dy, T* dx, bool log) {
  for (int64_t o = 0; o < d.outer; ++o) {
    for (int64_t i = 0; i < d.inner; ++i) {
      const int64_t base = o * d.dim * d.inner + i;
      double s = 0;
      for (int64_t j = 0; j < d.dim; ++j) {
        const int64_t at = base + j * d.inner;
        s += log ? static_cast<double>(dy[at])
                 : static_cast<double>(dy[at]) * static_cast<double>(y[at]);
      }
      for (int64_t j = 0; j < d.dim; ++j) {
        const int64_t at = base + j * d.inner;
        const double yv = static_cast<double>(y[at]), g = static_cast<double>(dy[at]);
        dx[at] = static_cast<T>(log ? g - std::exp(yv) * s : yv * (g - s));
      }
    }
  }
}

template void softmax_forward<float>(const kernels::SoftmaxDesc&, const float*, float*, bool);
template void softmax_forward<double>(const kernels::SoftmaxDesc&, const double*, double*, bool);
template void softmax_backward<float>(const kernels::SoftmaxDesc&, const float*, const float*,
                                      float*, bool);
template void softmax_backward<double>(const kernels::SoftmaxDesc&, const double*, const double*,
                                       double*, bool);

}  // namespace signet::ref
