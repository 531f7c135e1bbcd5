// Softmax and log-softmax on f32 along the dim axis of a contiguous (outer, dim, inner) tensor,
// forward and backward: one block per row, max and sums by block tree reductions (deterministic).
#pragma once
#include "kernels/common/softmax_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// y = softmax(x), or log_softmax when log; launch status.
cudaError_t softmax_forward_f32(const kernels::SoftmaxDesc& d, const float* x, float* y, bool log);
// dx from the forward output y and dy (formulas of kernels/reference/softmax.h); launch status.
cudaError_t softmax_backward_f32(const kernels::SoftmaxDesc& d, const float* y, const float* dy,
                                 float* dx, bool log);

}  // namespace signet::cuda
