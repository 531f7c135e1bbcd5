// The main loop of the SIMT implicit-GEMM tile (conv_igemm.cu's v2 passes, convlstm_fused.cu's
// fused step): per 8-deep slice of the reduction the block gathers A rows and B columns from an
// operand functor into shared memory and the threads multiply them into their 8 x 8 register
// accumulators (gemm_register_tile.h); what happens to the accumulators after is the caller's.
#pragma once
#include <cstdint>

#include "kernels/cuda/conv_igemm_ops.h"
#include "kernels/cuda/gemm_register_tile.h"

namespace signet::cuda::igemm {

// acc = the thread's share of block (blockIdx.x column tile, blockIdx.y row tile) of group g's
// product over reduction indices [r_begin, r_end) of a shape.rows x shape.cols output, A and B
// read through ops.a(g, row, r) and ops.b(g, r, column) (zeros outside); smem holds
// register_tile::kSharedFloats floats.
template <class Ops>
__device__ __forceinline__ void accumulate_tile(const Ops& ops, const IgemmShape& shape,
                                                float* smem, int64_t g, int64_t r_begin,
                                                int64_t r_end, float (&acc)[8][8]) {
  using register_tile::kCols;
  using register_tile::kDepth;
  using register_tile::kRows;
  float* as = smem;                   // as[r][row], kDepth x kRows
  float* bs = smem + kDepth * kRows;  // bs[r][column], kDepth x kCols
  const int tid = int(threadIdx.x), tx = tid % 16, ty = tid / 16;
  const int64_t row0 = int64_t(blockIdx.y) * kRows, col0 = int64_t(blockIdx.x) * kCols;
  register_tile::clear(acc);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kDepth) {
    {  // A: row o, reduction indices q..q+3
      const int o = tid / 2, q = (tid % 2) * 4;
      for (int i = 0; i < 4; ++i) {
        const int64_t f = row0 + o, r = r0 + q + i;
        as[(q + i) * kRows + o] = f < shape.rows && r < r_end ? ops.a(g, f, r) : 0.0f;
      }
    }
    {  // B: reduction index r0 + q, columns o..o+3
      const int q = tid / 32, o = (tid % 32) * 4;
      const int64_t r = r0 + q;
      for (int i = 0; i < 4; ++i) {
        const int64_t p = col0 + o + i;
        bs[q * kCols + o + i] = r < r_end && p < shape.cols ? ops.b(g, r, p) : 0.0f;
      }
    }
    __syncthreads();
    register_tile::multiply_slice(acc, as, bs, tx, ty);
    __syncthreads();
  }
}

}  // namespace signet::cuda::igemm
