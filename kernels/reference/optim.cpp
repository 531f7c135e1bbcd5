#include "kernels/reference/optim.h"

#include <algorithm>
#include <cmath>

namespace signet::ref {

// SGD element by element; scalars are rounded to T first, as torch.optim's tensor ops do.
template <class T>
void sgd_step(const kernels::SgdDesc& d, T* param, const T* grad, T* buf) {
  const T lr = static_cast<T>(d.lr), wd = static_cast<T>(d.weight_decay);
  const T mom = static_cast<T>(d.momentum), damp = static_cast<T>(1 - d.dampening);
  for (int64_t i = 0; i < d.n; ++i) {
    T g = grad[i];
    if (d.weight_decay != 0) g = g + wd * param[i];
    if (d.momentum != 0) {
      buf[i] = d.first_step ? g : buf[i] * mom + damp * g;
      g = d.nesterov ? g + mom * buf[i] : buf[i];
    }
    param[i] = param[i] - lr * g;
  }
}

// Adam/AdamW element by element, rounding in the order of torch.optim's single-tensor path.
template <class T>
void adam_step(const kernels::AdamDesc& d, T* param, const T* grad, T* m, T* v, T* vmax) {
  const T b1 = static_cast<T>(d.beta1), b2 = static_cast<T>(d.beta2);
  const T one_b1 = static_cast<T>(1 - d.beta1), one_b2 = static_cast<T>(1 - d.beta2);
  const T wd = static_cast<T>(d.weight_decay), decay = static_cast<T>(1 - d.lr * d.weight_decay);
  const T eps = static_cast<T>(d.eps), step_size = static_cast<T>(d.step_size);
  const T bc2 = static_cast<T>(d.bias_correction2_sqrt);
  for (int64_t i = 0; i < d.n; ++i) {
    T g = grad[i];
    T p = param[i];
    if (d.decoupled)
      p = p * decay;
    else if (d.weight_decay != 0)
      g = g + wd * p;
    m[i] = m[i] * b1 + one_b1 * g;
    v[i] = v[i] * b2 + one_b2 * g * g;
    T second = v[i];
    if (d.amsgrad) {
      vmax[i] = std::max(vmax[i], v[i]);
      second = vmax[i];
    }
    const T denom = std::sqrt(second) / bc2 + eps;
    param[i] = p - step_size * (m[i] / denom);
  }
}

// RMSProp element by element, rounding in the order of torch.optim's single-tensor path.
template <class T>
void rmsprop_step(const kernels::RmspropDesc& d, T* param, const T* grad, T* square_avg,
                  T* grad_avg, T* buf) {
  const T alpha = static_cast<T>(d.alpha), one_alpha = static_cast<T>(1 - d.alpha);
  const T wd = static_cast<T>(d.weight_decay), eps = static_cast<T>(d.eps);
  const T lr = static_cast<T>(d.lr), mom = static_cast<T>(d.momentum);
  for (int64_t i = 0; i < d.n; ++i) {
    T g = grad[i];
    if (d.weight_decay != 0) g = g + wd * param[i];
    square_avg[i] = square_avg[i] * alpha + one_alpha * g * g;
    T avg;
    if (d.centered) {
      grad_avg[i] = grad_avg[i] * alpha + one_alpha * g;
      avg = std::sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps;
    } else {
      avg = std::sqrt(square_avg[i]) + eps;
    }
    if (d.momentum > 0) {
      buf[i] = buf[i] * mom + g / avg;
      param[i] = param[i] - lr * buf[i];
    } else {
      param[i] = param[i] - lr * (g / avg);
    }
  }
}

template void sgd_step<float>(const kernels::SgdDesc&, float*, const float*, float*);
template void sgd_step<double>(const kernels::SgdDesc&, double*, const double*, double*);
template void adam_step<float>(const kernels::AdamDesc&, float*, const float*, float*, float*,
                               float*);
template void adam_step<double>(const kernels::AdamDesc&, double*, const double*, double*, double*,
                                double*);
template void rmsprop_step<float>(const kernels::RmspropDesc&, float*, const float*, float*, float*,
                                  float*);
template void rmsprop_step<double>(const kernels::RmspropDesc&, double*, const double*, double*,
                                   double*, double*);

}  // namespace signet::ref
