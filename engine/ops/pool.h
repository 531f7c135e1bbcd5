// Pooling as torch.nn.functional: max (with i64 indices, flat offsets within each input plane),
// average (count_include_pad as PyTorch, on by default) and adaptive average (output size 1 is
// global average pooling), 2-D on (N, C, H, W) and 3-D on (N, C, D, H, W), with autograd.
// kernel, stride, padding and dilation take one value for every spatial dim or one per dim; an
// empty stride means stride = kernel. Dispatched as "max_pool2d", "max_pool2d_backward",
// "avg_pool2d", ..., "adaptive_avg_pool3d_backward": v1_reference (f32, f64).
#pragma once
#include <utility>

#include "engine/tensor.h"

namespace signet {

// The window maxima and their i64 indices (flat d*H*W + h*W + w offsets in each input plane).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Shape& kernel,
                                                  const Shape& stride = {},
                                                  const Shape& padding = {0},
                                                  const Shape& dilation = {1},
                                                  bool ceil_mode = false);
std::pair<Tensor, Tensor> max_pool3d_with_indices(const Tensor& x, const Shape& kernel,
                                                  const Shape& stride = {},
                                                  const Shape& padding = {0},
                                                  const Shape& dilation = {1},
                                                  bool ceil_mode = false);
// The window maxima (the gradient goes to the element the index names).
Tensor max_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {},
                  const Shape& padding = {0}, const Shape& dilation = {1}, bool ceil_mode = false);
Tensor max_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride = {},
                  const Shape& padding = {0}, const Shape& dilation = {1}, bool ceil_mode = false);
// The window means (padding counted in the divisor when count_include_pad).
Tensor avg_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {},
                  const Shape& padding = {0}, bool ceil_mode = false,
                  bool count_include_pad = true);
Tensor avg_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride = {},
                  const Shape& padding = {0}, bool ceil_mode = false,
                  bool count_include_pad = true);
// Means over PyTorch's adaptive windows giving output_size (one value or one per dim).
Tensor adaptive_avg_pool2d(const Tensor& x, const Shape& output_size);
Tensor adaptive_avg_pool3d(const Tensor& x, const Shape& output_size);

}  // namespace signet
