// A simple, correct f32 GEMM for the cuda device until the GEMM issue brings fast ones: one
// thread per element of C, a plain loop over k (no tiling, no shared memory).
#pragma once
#include "kernels/common/gemm_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// C = alpha * op(A) op(B) + beta * C for every batch item of d; launch status.
cudaError_t gemm_v1_naive_f32(const kernels::GemmDesc& d, const float* a, const float* b, float* c);

}  // namespace signet::cuda
