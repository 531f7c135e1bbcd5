// The SIMT fp32 GEMM ladder after v1 (gemm_naive.h): v2 tiles through shared memory, v3 tiles
// into registers. Both take a GemmDesc (all transposes, alpha/beta, strided batches).
#pragma once
#include "kernels/common/gemm_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// v2: 32x32 tiles of A and B staged in shared memory, one thread per element of C; launch status.
cudaError_t gemm_v2_tiled_f32(const kernels::GemmDesc& d, const float* a, const float* b, float* c);

// v3: 128x128x8 block tiles, 8x8 outputs per thread in registers, float4 loads where aligned;
// launch status.
cudaError_t gemm_v3_register_f32(const kernels::GemmDesc& d, const float* a, const float* b,
                                 float* c);

}  // namespace signet::cuda
