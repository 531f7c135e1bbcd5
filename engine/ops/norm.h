// Batch norm and layer norm as torch.nn.functional's.
//   batch_norm(x (N, C, ...), running_mean, running_var, weight, bias, training, momentum, eps):
//     training: normalises with the batch mean and biased variance per channel and, when the
//     running statistics are given, updates them in place: running = (1 - momentum) running +
//     momentum batch, with the unbiased variance (M / (M - 1)), M = N * spatial. Evaluation:
//     normalises with the running statistics (required). weight, bias, running_* may be
//     undefined; each defined one is a contiguous (C) tensor of x's dtype.
//   layer_norm(x, normalized_shape, weight, bias, eps): statistics over the last
//     normalized_shape.size() dims of x, which must equal normalized_shape; weight and bias
//     (optional) have that shape.
// Both are differentiable in x, weight and bias; f32 and f64.
#pragma once
#include "engine/tensor.h"

namespace signet {

// Batch norm of x over its channel dim 1 (see the file comment).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps);

// Layer norm of x over its trailing normalized_shape (see the file comment).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps);

}  // namespace signet
