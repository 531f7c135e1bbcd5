// The tensor-core rungs of the GEMM ladder (after gemm_tiled.h): fp32 operands in global memory,
// multiplied by mma.sync on rounded copies, fp32 accumulation. GemmDesc as everywhere (all
// transposes, alpha/beta, strided batches).
#pragma once
#include "kernels/common/gemm_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// v4: A and B rounded to tf32 (cvt.rna), mma.sync m16n8k8, cp.async double buffering; status.
cudaError_t gemm_v4_tf32_f32(const kernels::GemmDesc& d, const float* a, const float* b, float* c);

// v5: A and B rounded to bf16 (to nearest even), mma.sync m16n8k16, fp32 accumulation; status.
cudaError_t gemm_v5_bf16_f32(const kernels::GemmDesc& d, const float* a, const float* b, float* c);

// v6: as v5, each slice rounded once into bf16 tiles in shared memory and the fragments fetched
// with ldmatrix.x4; status.
cudaError_t gemm_v6_bf16_ldmatrix_f32(const kernels::GemmDesc& d, const float* a, const float* b,
                                      float* c);

}  // namespace signet::cuda
