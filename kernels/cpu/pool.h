// Fast CPU pooling (2-D and 3-D, kernels/common/pool_desc.h), same contract as
// kernels/reference/pool.h:
//   v2 rows    planes (N * C) split over OpenMP threads; per output row (plane, od, oh) the
//              window taps (kd, kh, kw) are the outer loops, in the reference's order, and the
//              outputs of the row the inner, unit-stride loop (stride-s reads of the input row),
//              so each tap is one vectorisable pass over the row: max with i64 indices (the
//              reference's tie and NaN rules: the first maximum, the last NaN; 2x2 stride-2
//              (H, W) windows inside the input, 2-D or 3-D with depth kernel 1, take a direct
//              path over the output row, on AVX-512 for float 8 outputs a step with the tail
//              masked), average (sums in T in tap order; the reference sums in double), and
//              their backwards (max: the reference's scatter, plane by plane; average:
//              dy / divisor added tap by tap).
//   v2 global  adaptive average pooling to size 1 (global average pooling): a 16-lane float
//              (or double) sum per plane in a fixed order, divided by the plane size; the
//              backward broadcasts dy / size.
// Each plane is done by one thread: results do not depend on the thread count. Kernels never
// allocate and never throw; arguments are checked by the caller.
#pragma once
#include <cstdint>

#include "kernels/common/pool_desc.h"

namespace signet::cpu {

// y = the window maximum, idx = its flat offset in the plane.
template <class T>
void max_pool_forward_v2(const kernels::PoolDesc& d, const T* x, T* y, int64_t* idx, int threads);

// dx = dy scattered to the saved indices (dx is overwritten).
template <class T>
void max_pool_backward_v2(const kernels::PoolDesc& d, const T* dy, const int64_t* idx, T* dx,
                          int threads);

// y = the window mean with PyTorch's divisor.
template <class T>
void avg_pool_forward_v2(const kernels::PoolDesc& d, const T* x, T* y, int threads);

// dx = each dy / divisor spread over its window's in-bounds elements (dx is overwritten).
template <class T>
void avg_pool_backward_v2(const kernels::PoolDesc& d, const T* dy, T* dx, int threads);

// Whether d is a global average pooling (every output size 1), the case of the two below.
bool is_global_pool(const kernels::PoolDesc& d);

// y[p] = the mean of plane p.
template <class T>
void global_avg_pool_forward_v2(const kernels::PoolDesc& d, const T* x, T* y, int threads);

// dx[p][i] = dy[p] / plane size.
template <class T>
void global_avg_pool_backward_v2(const kernels::PoolDesc& d, const T* dy, T* dx, int threads);

}  // namespace signet::cpu
