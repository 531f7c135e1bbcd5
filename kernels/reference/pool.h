// Reference pooling (2-D and 3-D, see PoolDesc): max with i64 indices, average, and adaptive
// average (global average pooling is adaptive with output 1), forward and backward.
#pragma once
#include <cstdint>

#include "kernels/common/pool_desc.h"

namespace signet::ref {

// y = the window maximum (a NaN wins, else the first maximum); idx = its flat offset in the plane.
template <class T>
void max_pool_forward(const kernels::PoolDesc& d, const T* x, T* y, int64_t* idx);

// dx = dy scattered to the saved indices (dx is overwritten).
template <class T>
void max_pool_backward(const kernels::PoolDesc& d, const T* dy, const int64_t* idx, T* dx);

// y = the window mean with PyTorch's divisor (see PoolDesc).
template <class T>
void avg_pool_forward(const kernels::PoolDesc& d, const T* x, T* y);

// dx = each dy spread evenly over its window's in-bounds elements (dx is overwritten).
template <class T>
void avg_pool_backward(const kernels::PoolDesc& d, const T* dy, T* dx);

// y = the mean over the adaptive window [floor(o*in/out), ceil((o+1)*in/out)) per dim.
template <class T>
void adaptive_avg_pool_forward(const kernels::PoolDesc& d, const T* x, T* y);

// dx = each dy spread evenly over its adaptive window (dx is overwritten).
template <class T>
void adaptive_avg_pool_backward(const kernels::PoolDesc& d, const T* dy, T* dx);

}  // namespace signet::ref
