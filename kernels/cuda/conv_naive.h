// A simple, correct convolution (2-D and 3-D, groups, stride, padding, dilation; ConvDesc as in
// kernels/reference/conv.h) for the cuda device until issue #11 brings implicit GEMM: direct
// loops, one thread per element written (forward: per output; backward-data: per input element,
// gathering the taps that read it; backward-weights: per weight tap, summing over the batch and
// output positions; dbias: per filter). No shared memory, no atomics: deterministic.
#pragma once
#include "kernels/common/conv_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// y = conv(x, w) + bias (bias may be null); launch status.
cudaError_t conv_v1_naive_forward_f32(const kernels::ConvDesc& d, const float* x, const float* w,
                                      const float* bias, float* y);
// dx = the gradient of sum(y * dy) with respect to x (overwritten).
cudaError_t conv_v1_naive_backward_data_f32(const kernels::ConvDesc& d, const float* dy,
                                            const float* w, float* dx);
// dw (and dbias when not null) = the gradients of sum(y * dy) (overwritten).
cudaError_t conv_v1_naive_backward_weights_f32(const kernels::ConvDesc& d, const float* x,
                                               const float* dy, float* dw, float* dbias);

}  // namespace signet::cuda
