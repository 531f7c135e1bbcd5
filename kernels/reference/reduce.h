// Reference reductions (sum, max, min) over a ReduceDesc.
#pragma once
#include "kernels/common/reduce_desc.h"

namespace signet::ref {

// out[k] = op over the reduced dims of in[k, r]. Sums accumulate in double. For max/min, NaN
// wins, and arg (when not null, laid out like out) receives the row-major flat index, within
// the reduced sub-space, of the first extremum.
template <class T>
void reduce(kernels::ReduceOp op, const kernels::ReduceDesc& d, const T* in, T* out, int64_t* arg);

// grad_in[k, arg[k]] += grad_out[k]: the backward of max/min; grad_in is laid out by the
// desc's input strides, grad_out and arg by its output strides.
template <class T>
void scatter_to_arg(const kernels::ReduceDesc& d, const T* grad_out, const int64_t* arg,
                    T* grad_in);

}  // namespace signet::ref
