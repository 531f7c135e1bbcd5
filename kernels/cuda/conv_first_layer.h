// Convolution forward for first layers (few input channels, e.g. C = 1 or 3: the GEMM depth
// C/groups * taps is 9 or 27, too short for implicit GEMM's 8-deep slices to pay): each thread
// computes 16 output channels of one output position, reading its patch once from global memory
// and the 16 filters from shared memory. ConvDesc as in kernels/reference/conv.h.
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// The longest C/groups * taps the first-layer path takes (its filters sit in shared memory).
constexpr int64_t kFirstLayerMaxDepth = 256;

// True when conv_first_layer_forward_f32 handles d (C/groups * taps <= kFirstLayerMaxDepth).
bool conv_first_layer_applies(const kernels::ConvDesc& d);

// y = conv(x, w) + bias (bias may be null); cudaErrorInvalidValue when it does not apply.
cudaError_t conv_first_layer_forward_f32(const kernels::ConvDesc& d, const float* x, const float* w,
                                         const float* bias, float* y);

}  // namespace signet::cuda
