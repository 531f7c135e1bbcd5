// Reference layer norm over the rows of (rows, cols) (kernels/common/norm_desc.h), in double:
//   forward  y = (x - mean[r]) * rstd[r] * weight[j] + bias[j]   (weight, bias may be null)
//   backward dx = rstd (g - mean_j(g) - xhat mean_j(g xhat)), g = dy * weight;
//            dweight[j] = sum_r dy xhat, dbias[j] = sum_r dy.
#pragma once
#include "kernels/common/norm_desc.h"

namespace signet::ref {

// y, and the row statistics mean[r] and rstd[r] = 1 / sqrt(var + eps) for the backward.
template <class T>
void layer_norm_forward(const kernels::LayerNormDesc& d, const T* x, const T* weight, const T* bias,
                        T* y, T* mean, T* rstd);

// dx, dweight and dbias (each may be null) from x, dy and the forward's row statistics.
template <class T>
void layer_norm_backward(const kernels::LayerNormDesc& d, const T* x, const T* dy, const T* mean,
                         const T* rstd, const T* weight, T* dx, T* dweight, T* dbias);

}  // namespace signet::ref
