// The per-element updates of the fused optimisers (formulas in optim_desc.h), shared by the
// reference kernels (kernels/reference/optim.cpp, float and double) and the cuda kernels
// (kernels/cuda/optim.cu), so every implementation rounds in the same order. The hyper-parameters
// are rounded to T once per step (*_scalars), as torch.optim's tensor ops round them.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hostdev.h"
#include "kernels/common/optim_desc.h"

namespace signet::kernels {

// SGD's hyper-parameters in T.
template <class T>
struct SgdScalars {
  T lr, wd, mom, damp;
};

// SgdDesc's hyper-parameters rounded to T.
template <class T>
SIGNET_HD SgdScalars<T> sgd_scalars(const SgdDesc& d) {
  return {T(d.lr), T(d.weight_decay), T(d.momentum), T(1 - d.dampening)};
}

// SGD on element i; buf is read only when momentum != 0.
template <class T>
SIGNET_HD void sgd_update(const SgdDesc& d, const SgdScalars<T>& s, int64_t i, T* param,
                          const T* grad, T* buf) {
  T g = grad[i];
  if (d.weight_decay != 0) g = g + s.wd * param[i];
  if (d.momentum != 0) {
    buf[i] = d.first_step ? g : buf[i] * s.mom + s.damp * g;
    g = d.nesterov ? g + s.mom * buf[i] : buf[i];
  }
  param[i] = param[i] - s.lr * g;
}

// Adam's hyper-parameters and step scalars in T.
template <class T>
struct AdamScalars {
  T b1, b2, one_b1, one_b2, wd, decay, eps, step_size, bc2;
};

// AdamDesc's hyper-parameters and step scalars rounded to T.
template <class T>
SIGNET_HD AdamScalars<T> adam_scalars(const AdamDesc& d) {
  return {T(d.beta1),     T(d.beta2),        T(1 - d.beta1),
          T(1 - d.beta2), T(d.weight_decay), T(1 - d.lr * d.weight_decay),
          T(d.eps),       T(d.step_size),    T(d.bias_correction2_sqrt)};
}

// Adam or AdamW on element i; vmax is read only when amsgrad.
template <class T>
SIGNET_HD void adam_update(const AdamDesc& d, const AdamScalars<T>& s, int64_t i, T* param,
                           const T* grad, T* m, T* v, T* vmax) {
  T g = grad[i];
  T p = param[i];
  if (d.decoupled)
    p = p * s.decay;
  else if (d.weight_decay != 0)
    g = g + s.wd * p;
  m[i] = m[i] * s.b1 + s.one_b1 * g;
  v[i] = v[i] * s.b2 + s.one_b2 * g * g;
  T second = v[i];
  if (d.amsgrad) {
    vmax[i] = vmax[i] < v[i] ? v[i] : vmax[i];  // std::max's choice, also for NaN
    second = vmax[i];
  }
  const T denom = std::sqrt(second) / s.bc2 + s.eps;
  param[i] = p - s.step_size * (m[i] / denom);
}

// RMSProp's hyper-parameters in T.
template <class T>
struct RmspropScalars {
  T alpha, one_alpha, wd, eps, lr, mom;
};

// RmspropDesc's hyper-parameters rounded to T.
template <class T>
SIGNET_HD RmspropScalars<T> rmsprop_scalars(const RmspropDesc& d) {
  return {T(d.alpha), T(1 - d.alpha), T(d.weight_decay), T(d.eps), T(d.lr), T(d.momentum)};
}

// RMSProp on element i; grad_avg is read only when centered, buf only when momentum > 0.
template <class T>
SIGNET_HD void rmsprop_update(const RmspropDesc& d, const RmspropScalars<T>& s, int64_t i, T* param,
                              const T* grad, T* square_avg, T* grad_avg, T* buf) {
  T g = grad[i];
  if (d.weight_decay != 0) g = g + s.wd * param[i];
  square_avg[i] = square_avg[i] * s.alpha + s.one_alpha * g * g;
  T avg;
  if (d.centered) {
    grad_avg[i] = grad_avg[i] * s.alpha + s.one_alpha * g;
    avg = std::sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + s.eps;
  } else {
    avg = std::sqrt(square_avg[i]) + s.eps;
  }
  if (d.momentum > 0) {
    buf[i] = buf[i] * s.mom + g / avg;
    param[i] = param[i] - s.lr * buf[i];
  } else {
    param[i] = param[i] - s.lr * (g / avg);
  }
}

}  // namespace signet::kernels
