// Reference fused optimiser updates: one pass over a parameter reading its gradient and state,
// writing the parameter and state in place (formulas in kernels/common/optim_desc.h).
#pragma once
#include "kernels/common/optim_desc.h"

namespace signet::ref {

// SGD step; buf (the momentum buffer) is read only when momentum != 0.
template <class T>
void sgd_step(const kernels::SgdDesc& d, T* param, const T* grad, T* buf);

// Adam or AdamW step; vmax (the amsgrad maximum) is read only when d.amsgrad.
template <class T>
void adam_step(const kernels::AdamDesc& d, T* param, const T* grad, T* m, T* v, T* vmax);

// RMSProp step; grad_avg is read only when centered, buf only when momentum > 0.
template <class T>
void rmsprop_step(const kernels::RmspropDesc& d, T* param, const T* grad, T* square_avg,
                  T* grad_avg, T* buf);

}  // namespace signet::ref
