// Sum reductions on f32 over a ReduceDesc: one block per output element, each thread sums a
// fixed strided share, then a shared-memory tree; deterministic (no float atomics).
#pragma once
#include "kernels/common/reduce_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// out[kept index] = sum over the reduced dims of in; launch status.
cudaError_t reduce_sum_f32(const kernels::ReduceDesc& d, const float* in, float* out);

}  // namespace signet::cuda
