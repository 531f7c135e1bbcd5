// Reference softmax and log-softmax, forward and backward, along the dim axis of SoftmaxDesc.
#pragma once
#include "kernels/common/softmax_desc.h"

namespace signet::ref {

// y = softmax(x) (or log_softmax when log), numerically stable (max subtracted).
template <class T>
void softmax_forward(const kernels::SoftmaxDesc& d, const T* x, T* y, bool log);

// dx from the forward output y and dy: softmax dx = y * (dy - sum(dy * y));
// log_softmax dx = dy - exp(y) * sum(dy).
template <class T>
void softmax_backward(const kernels::SoftmaxDesc& d, const T* y, const T* dy, T* dx, bool log);

}  // namespace signet::ref
