// Matrix products: matmul (2-D and batched, batch dims broadcast as torch.matmul) and linear.
#pragma once
#include "engine/tensor.h"

namespace signet {

// torch.matmul for operands of at least 1 dim: 1-D operands are promoted to a row/column and the
// added dim removed afterwards; leading (batch) dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
// x W^T + b over the last dim of x (bias may be undefined), as torch.nn.functional.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace signet
