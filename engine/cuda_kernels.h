// The cuda implementations registered in the dispatch: adapters from the untyped dispatch
// signatures to the chosen backend's kernels (kernels/cuda/backend.h), each checking the launch.
#pragma once
#include <cstdint>

#include "engine/dtype.h"
#include "kernels/common/elementwise_desc.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/common/reduce_desc.h"
#include "kernels/common/softmax_desc.h"
#include "kernels/common/strided.h"

namespace signet {

// out = op(a) on f32 device pointers.
void cuda_unary_f32(kernels::UnaryOp op, kernels::ElementwiseParams p,
                    const kernels::StridedDesc& d, const void* a, void* out);
// out = op(a, b) on f32 device pointers.
void cuda_binary_f32(kernels::BinaryOp op, kernels::ElementwiseParams p,
                     const kernels::StridedDesc& d, const void* a, const void* b, void* out);
// Strided f32 -> f32 copy on the device; other source dtypes are an error naming them.
void cuda_copy_f32(const kernels::StridedDesc& d, DType from, const void* src, void* dst);
// Fills an f32 strided space with value.
void cuda_fill_f32(const kernels::StridedDesc& d, double value, void* out);
// Sum reduction on f32 (ReduceOp::sum only; arg is unused).
void cuda_reduce_f32(kernels::ReduceOp op, const kernels::ReduceDesc& d, const void* in, void* out,
                     int64_t* arg);
// Softmax (log-softmax when Log) forward on f32 device pointers.
template <bool Log>
void cuda_softmax_forward_f32(const kernels::SoftmaxDesc& d, const void* x, void* y);
// Softmax (log-softmax when Log) backward on f32 device pointers.
template <bool Log>
void cuda_softmax_backward_f32(const kernels::SoftmaxDesc& d, const void* y, const void* dy,
                               void* dx);
// C = alpha * op(A) op(B) + beta * C on f32 device pointers (the simple v1_naive kernel).
void cuda_gemm_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c);

}  // namespace signet
