// Builds kernel descriptors from tensors (the only place shapes turn into raw strides).
#pragma once
#include "engine/tensor.h"
#include "kernels/common/strided.h"

namespace signet {

// Strides of t viewed at out_shape by NumPy broadcasting (0 along broadcast dims).
Shape broadcast_strides(const Tensor& t, const Shape& out_shape);
// A StridedDesc over shape with up to three operands' strides (0-d becomes one element).
kernels::StridedDesc strided_desc(const char* op, const Shape& shape, const Shape& s0,
                                  const Shape& s1 = {}, const Shape& s2 = {});

}  // namespace signet
