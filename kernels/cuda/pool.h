// Pooling on the cuda device (2-D and 3-D, PoolDesc as in kernels/reference/pool.h): max with i64
// indices, average with PyTorch's divisor, adaptive average (global average pooling is adaptive
// with output 1 and has its own block-reduction kernel). Forward: one thread per output element.
// Backward: gather, one thread per input element summing, in output order, the dy of every window
// that covers it (max: the windows whose saved index is this element), so overlapping windows need
// no atomics and the result is deterministic (sums in the reference's output order).
#pragma once
#include <cstdint>

#include "kernels/common/pool_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// y = the window maximum (a NaN wins, else the first maximum); idx = its flat offset in the plane.
cudaError_t max_pool_forward_f32(const kernels::PoolDesc& d, const float* x, float* y,
                                 int64_t* idx);
// dx = dy gathered through the saved indices (dx is overwritten).
cudaError_t max_pool_backward_f32(const kernels::PoolDesc& d, const float* dy, const int64_t* idx,
                                  float* dx);
// y = the window mean with PyTorch's divisor.
cudaError_t avg_pool_forward_f32(const kernels::PoolDesc& d, const float* x, float* y);
// dx = the sum of dy / divisor over the windows covering each element (dx is overwritten).
cudaError_t avg_pool_backward_f32(const kernels::PoolDesc& d, const float* dy, float* dx);
// y = the mean over each adaptive window (a block reduction per plane when the output is 1).
cudaError_t adaptive_avg_pool_forward_f32(const kernels::PoolDesc& d, const float* x, float* y);
// dx = the sum of dy / window size over the adaptive windows covering each element.
cudaError_t adaptive_avg_pool_backward_f32(const kernels::PoolDesc& d, const float* dy, float* dx);

}  // namespace signet::cuda
