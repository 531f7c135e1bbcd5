// Convolutions as torch.nn.functional.conv2d / conv3d (cross-correlation, NCHW / NCDHW), with
// autograd. stride, padding and dilation take one value for every spatial dim or one per dim.
// Dispatched as "conv2d" / "conv3d" (forward), "conv2d_backward_data",
// "conv2d_backward_weights" (and the 3-D twins): v2_im2col (f32; needs at least 4 filters per
// group) and v1_reference (f32, f64).
#pragma once
#include "engine/tensor.h"

namespace signet {

// x (N, C, H, W), weight (K, C/groups, kH, kW), bias (K) or undefined -> (N, K, oH, oW).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Shape& stride = {1}, const Shape& padding = {0}, const Shape& dilation = {1},
              int64_t groups = 1);
// x (N, C, D, H, W), weight (K, C/groups, kD, kH, kW), bias (K) or undefined
// -> (N, K, oD, oH, oW).
Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Shape& stride = {1}, const Shape& padding = {0}, const Shape& dilation = {1},
              int64_t groups = 1);

}  // namespace signet
