// Elementwise CUDA kernels on f32 over a StridedDesc (broadcasting by stride 0): unary, binary
// (with a tensor or a scalar argument) and fill; launchers return the launch status.
#pragma once
#include "kernels/common/elementwise_desc.h"
#include "kernels/common/strided.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// out = op(a) at every point of d (operand 0 out, operand 1 a).
cudaError_t unary_f32(kernels::UnaryOp op, kernels::ElementwiseParams p,
                      const kernels::StridedDesc& d, const float* a, float* out);
// out = op(a, b) at every point of d (operands: out, a, b).
cudaError_t binary_f32(kernels::BinaryOp op, kernels::ElementwiseParams p,
                       const kernels::StridedDesc& d, const float* a, const float* b, float* out);
// out = op(a, s) (op(s, a) when scalar_first) at every point of d (operands: out, a); the
// scalar s arrives as a kernel argument, not in device memory.
cudaError_t binary_scalar_f32(kernels::BinaryOp op, kernels::ElementwiseParams p,
                              const kernels::StridedDesc& d, const float* a, float s,
                              bool scalar_first, float* out);
// out = value at every point of d.
cudaError_t fill_f32(const kernels::StridedDesc& d, float value, float* out);

}  // namespace signet::cuda
