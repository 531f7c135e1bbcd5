// Reference batch norm over (n, c, inner) (kernels/common/norm_desc.h), in double:
//   forward  y = (x - mean[c]) * invstd[c] * weight[c] + bias[c]   (weight, bias may be null)
//            training: mean and biased var of the batch; evaluation: the running statistics
//   backward (training) dx = w invstd (dy - sum(dy) / M - xhat sum(dy xhat) / M), M = n * inner
//            (evaluation) dx = w invstd dy; dweight = sum(dy xhat), dbias = sum(dy).
#pragma once
#include "kernels/common/norm_desc.h"

namespace signet::ref {

// Training forward: y from the batch statistics, which it returns per channel (mean, biased
// var, invstd = 1 / sqrt(var + eps)).
template <class T>
void batch_norm_forward_train(const kernels::BatchNormDesc& d, const T* x, const T* weight,
                              const T* bias, T* y, T* mean, T* var, T* invstd);

// Evaluation forward: y from given statistics (running_mean, running_var).
template <class T>
void batch_norm_forward_eval(const kernels::BatchNormDesc& d, const T* x, const T* mean,
                             const T* var, const T* weight, const T* bias, T* y);

// dx (training: through the batch statistics; else with them fixed), dweight and dbias (each
// may be null) from x, dy and the mean and invstd used by the forward.
template <class T>
void batch_norm_backward(const kernels::BatchNormDesc& d, const T* x, const T* dy, const T* mean,
                         const T* invstd, const T* weight, bool training, T* dx, T* dweight,
                         T* dbias);

}  // namespace signet::ref
