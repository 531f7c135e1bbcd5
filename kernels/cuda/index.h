// Indexing along the middle axis of kernels/common/index_desc.h on the cuda device, same contract
// as kernels/reference/index.h (indices validated by the caller):
//   v1 select      index_select and gather: one thread per output element (grid-stride).
//   v1 accumulate  index_add and scatter_add, deterministically: one thread per grad_in element
//                  (o, k, i) walks the picked positions j = 0, 1, ... in order and adds the
//                  grad_out entries whose index is k, so repeated indices add up in the order
//                  of the reference (bit for bit the reference's float sums). Work is
//                  outer * dim_in * dim_out * inner: right for the small index counts of the
//                  models (embedding-like lookups, label gathers), not for long indices.
// Bandwidth unmeasured (no GPU yet).
#pragma once
#include <cstdint>

#include "kernels/common/index_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// out[o, j, i] = in[o, idx[j], i]; idx has dim_out entries.
cudaError_t index_select_f32(const kernels::IndexDesc& d, const float* in, const int64_t* idx,
                             float* out);
cudaError_t index_select_i64(const kernels::IndexDesc& d, const int64_t* in, const int64_t* idx,
                             int64_t* out);
// out[o, j, i] = in[o, idx[o, j, i], i]; idx is laid out like out.
cudaError_t gather_f32(const kernels::IndexDesc& d, const float* in, const int64_t* idx,
                       float* out);
cudaError_t gather_i64(const kernels::IndexDesc& d, const int64_t* in, const int64_t* idx,
                       int64_t* out);
// grad_in[o, idx[j], i] += grad_out[o, j, i] in j order.
cudaError_t index_add_f32(const kernels::IndexDesc& d, const float* grad_out, const int64_t* idx,
                          float* grad_in);
// grad_in[o, idx[o, j, i], i] += grad_out[o, j, i] in j order.
cudaError_t scatter_add_f32(const kernels::IndexDesc& d, const float* grad_out, const int64_t* idx,
                            float* grad_in);

}  // namespace signet::cuda
