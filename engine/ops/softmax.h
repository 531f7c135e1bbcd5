// Softmax and log-softmax along a dim, forward and backward.
#pragma once
#include "engine/tensor.h"

namespace signet {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace signet
