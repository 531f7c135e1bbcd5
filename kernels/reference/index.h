// Reference indexing along the middle axis of IndexDesc. Indices are validated by the caller.
#pragma once
#include <cstdint>

#include "kernels/common/index_desc.h"

namespace signet::ref {

// out[o, j, i] = in[o, idx[j], i]; idx has dim_out entries.
template <class T>
void index_select(const kernels::IndexDesc& d, const T* in, const int64_t* idx, T* out);

// grad_in[o, idx[j], i] += grad_out[o, j, i] (accumulates; repeated indices add up).
template <class T>
void index_add(const kernels::IndexDesc& d, const T* grad_out, const int64_t* idx, T* grad_in);

// out[o, j, i] = in[o, idx[o, j, i], i]; idx is laid out like out.
template <class T>
void gather(const kernels::IndexDesc& d, const T* in, const int64_t* idx, T* out);

// grad_in[o, idx[o, j, i], i] += grad_out[o, j, i] (accumulates).
template <class T>
void scatter_add(const kernels::IndexDesc& d, const T* grad_out, const int64_t* idx, T* grad_in);

}  // namespace signet::ref
