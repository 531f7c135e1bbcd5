// Reductions on f32 over a ReduceDesc: one block per output element, each thread reduces a
// fixed strided share, then a shared-memory tree; deterministic (no float atomics). Max/min
// give the reference's answer exactly: the first extremum, a NaN winning over everything.
#pragma once
#include "kernels/common/reduce_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// out[kept index] = sum over the reduced dims of in; launch status.
cudaError_t reduce_sum_f32(const kernels::ReduceDesc& d, const float* in, float* out);
// out[kept index] = max (min when !is_max) over the reduced dims, arg (when not null) the flat
// row-major index of its first occurrence in the reduced space; launch status. The reduced
// space must not be empty.
cudaError_t reduce_extremum_f32(const kernels::ReduceDesc& d, const float* in, float* out,
                                int64_t* arg, bool is_max);
// grad_in[input position named by arg] += grad_out for every kept index (one thread each: the
// kept indices own disjoint reduced spaces, so no two threads touch one element).
cudaError_t scatter_to_arg_f32(const kernels::ReduceDesc& d, const float* grad_out,
                               const int64_t* arg, float* grad_in);

}  // namespace signet::cuda
