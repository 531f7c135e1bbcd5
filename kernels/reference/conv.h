// Reference convolution (2-D and 3-D, groups, stride, padding, dilation): plain loops over every
// output element and tap, accumulating in double. The ground truth for the faster versions.
#pragma once
#include "kernels/common/conv_desc.h"

namespace signet::ref {

// y[n,k,o] = bias[k] + sum over c in k's group and taps t of x[n,c,o*stride-pad+t*dil] w[k,c,t]
// (bias may be null).
template <class T>
void conv_forward(const kernels::ConvDesc& d, const T* x, const T* w, const T* bias, T* y);

// dx = the gradient of sum(y * dy) with respect to x (dx is overwritten).
template <class T>
void conv_backward_data(const kernels::ConvDesc& d, const T* dy, const T* w, T* dx);

// dw (and dbias when not null) = the gradients of sum(y * dy) (both overwritten).
template <class T>
void conv_backward_weights(const kernels::ConvDesc& d, const T* x, const T* dy, T* dw, T* dbias);

}  // namespace signet::ref
