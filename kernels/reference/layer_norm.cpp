// Reference layer norm: one row at a time, two passes for the statistics, sums in double.
#include "kernels/reference/layer_norm.h"

#include <cmath>
#include <cstdint>

namespace signet::ref {

// Row mean, then mean of squared deviations, then the affine normalisation.
template <class T>
void layer_norm_forward(const kernels::LayerNormDesc& d, const T* x, const T* weight, const T* bias,
                        T* y, T* mean, T* rstd) {
  const double count = static_cast<double>(d.cols);
  for (int64_t r = 0; r < d.rows; ++r) {
    const T* xr = x + r * d.cols;
    double s = 0;
    for (int64_t j = 0; j < d.cols; ++j) s += static_cast<double>(xr[j]);
    const double m = s / count;
    double ss = 0;
    for (int64_t j = 0; j < d.cols; ++j) {
      const double v = static_cast<double>(xr[j]) - m;
      ss += v * v;
    }
    const double rs = 1.0 / std::sqrt(ss / count + d.eps);
    for (int64_t j = 0; j < d.cols; ++j) {
      const double w = weight ? static_cast<double>(weight[j]) : 1.0;
      const double b = bias ? static_cast<double>(bias[j]) : 0.0;
      y[r * d.cols + j] = static_cast<T>((static_cast<double>(xr[j]) - m) * rs * w + b);
    }
    mean[r] = static_cast<T>(m);
    rstd[r] = static_cast<T>(rs);
  }
}

// Per row: the two means of the formula in the header, then dx; dweight/dbias summed over rows.
template <class T>
void layer_norm_backward(const kernels::LayerNormDesc& d, const T* x, const T* dy, const T* mean,
                         const T* rstd, const T* weight, T* dx, T* dweight, T* dbias) {
  const double count = static_cast<double>(d.cols);
  for (int64_t j = 0; j < d.cols; ++j) {
    if (dweight) dweight[j] = 0;
    if (dbias) dbias[j] = 0;
  }
  for (int64_t r = 0; r < d.rows; ++r) {
    const T* xr = x + r * d.cols;
    const T* gr = dy + r * d.cols;
    const double m = static_cast<double>(mean[r]);
    const double rs = static_cast<double>(rstd[r]);
    double sg = 0, sgxhat = 0;
    for (int64_t j = 0; j < d.cols; ++j) {
      const double xhat = (static_cast<double>(xr[j]) - m) * rs;
      const double g = static_cast<double>(gr[j]) * (weight ? static_cast<double>(weight[j]) : 1.0);
      sg += g;
      sgxhat += g * xhat;
      if (dweight) dweight[j] = static_cast<T>(dweight[j] + static_cast<double>(gr[j]) * xhat);
      if (dbias) dbias[j] = static_cast<T>(dbias[j] + static_cast<double>(gr[j]));
    }
    if (!dx) continue;
    for (int64_t j = 0; j < d.cols; ++j) {
      const double xhat = (static_cast<double>(xr[j]) - m) * rs;
      const double g = static_cast<double>(gr[j]) * (weight ? static_cast<double>(weight[j]) : 1.0);
      dx[r * d.cols + j] = static_cast<T>(rs * (g - sg / count - xhat * sgxhat / count));
    }
  }
}

template void layer_norm_forward<float>(const kernels::LayerNormDesc&, const float*, const float*,
                                        const float*, float*, float*, float*);
template void layer_norm_forward<double>(const kernels::LayerNormDesc&, const double*,
                                         const double*, const double*, double*, double*, double*);
template void layer_norm_backward<float>(const kernels::LayerNormDesc&, const float*, const float*,
                                         const float*, const float*, const float*, float*, float*,
                                         float*);
template void layer_norm_backward<double>(const kernels::LayerNormDesc&, const double*,
                                          const double*, const double*, const double*,
                                          const double*, double*, double*, double*);

}  // namespace signet::ref
