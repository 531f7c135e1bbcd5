// Convolutions as torch.nn.functional.conv2d / conv3d (cross-correlation, NCHW / NCDHW), with
// autograd. stride, padding and dilation take one value for every spatial dim or one per dim.
// Dispatched as "conv2d" / "conv3d" (forward), "conv2d_backward_data",
// "conv2d_backward_weights" (and the 3-D twins): v2_im2col (f32; needs at least 4 filters per
// group), v1_reference (f32, f64), v3_direct (f32, AVX-512, stride 1, groups 1) and, for the
// forward of first layers, v4_small_c; kernels/cpu/conv_select.h chooses. v3's packed weights are
// cached by the weight's storage and version (engine/packed_cache.h: a weight packs once per
// version and pass however many calls use it).
#pragma once
#include <cstdint>

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
