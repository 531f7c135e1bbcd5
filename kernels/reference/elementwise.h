// Reference elementwise kernels over a StridedDesc (operand 0 = out, 1 = a, 2 = b).
#pragma once
#include "kernels/common/bf16.h"
#include "kernels/common/elementwise_desc.h"
#include "kernels/common/strided.h"

namespace signet::ref {

using kernels::bf16;

// out = f(a) for every point of the iteration space.
template <class T>
void unary(kernels::UnaryOp op, kernels::ElementwiseParams p, const kernels::StridedDesc& d,
           const T* a, T* out);

// out = f(a, b) for every point of the iteration space (broadcast through zero strides).
template <class T>
void binary(kernels::BinaryOp op, kernels::ElementwiseParams p, const kernels::StridedDesc& d,
            const T* a, const T* b, T* out);

// out = value at every point (operand 0 only).
template <class T>
void fill(const kernels::StridedDesc& d, T value, T* out);

// out = a converted to To (float to integer saturates, NaN to 0; bf16 via float): the dtype
// conversion behind Tensor::to and copies.
template <class To, class From>
void cast(const kernels::StridedDesc& d, const From* a, To* out);

}  // namespace signet::ref
