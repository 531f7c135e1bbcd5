// Reference matrix product: three plain loops per batch item, accumulating in double.
#pragma once
#include "kernels/common/gemm_desc.h"

namespace signet::ref {

// C = alpha * op(A) op(B) + beta * C for each batch item (see GemmDesc).
template <class T>
void gemm(const kernels::GemmDesc& d, const T* a, const T* b, T* c);

}  // namespace signet::ref
