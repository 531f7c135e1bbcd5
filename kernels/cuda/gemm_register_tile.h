// The 128x128x8 register tiling shared by the SIMT GEMM (gemm_tiled.cu, v3) and the implicit-GEMM
// convolution (conv_igemm.cu, v2): 256 threads a block; per 8-deep slice of the reduction the
// block stages as[p][row] (8 x 128) and bs[p][col] (8 x 128) in shared memory, and thread t
// (tx = t % 16, ty = t / 16) multiplies them into 8 x 8 outputs held in registers: rows
// ty*4..+3 and 64+ty*4..+3 of the block tile, columns likewise with tx, a split that keeps its
// float4 shared loads conflict-free (16 shared loads per 64 FMAs).
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda::register_tile {

constexpr int kRows = 128, kCols = 128, kDepth = 8, kThreads = 256;
// Shared floats of one slice of both operands.
constexpr int kSharedFloats = kDepth * (kRows + kCols);

// Offset inside the block tile of the thread's element i (0..7) along a side, t = ty or tx.
__device__ __forceinline__ int offset(int t, int i) {
  return i < 4 ? t * 4 + i : 64 + t * 4 + i - 4;
}

// Sets every accumulator to zero.
__device__ __forceinline__ void clear(float (&acc)[8][8]) {
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
}

// acc += the thread's 8 x 8 share of as (kDepth x kRows) times bs (kDepth x kCols).
__device__ __forceinline__ void multiply_slice(float (&acc)[8][8], const float* as, const float* bs,
                                               int tx, int ty) {
  for (int q = 0; q < kDepth; ++q) {
    const float4* a4 = reinterpret_cast<const float4*>(as + q * kRows);
    const float4* b4 = reinterpret_cast<const float4*>(bs + q * kCols);
    const float4 a0 = a4[ty], a1 = a4[16 + ty], b0 = b4[tx], b1 = b4[16 + tx];
    const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
    const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
  }
}

// Calls store(row, col, value) for each of the thread's outputs inside [0, rows) x [0, cols),
// row and col counted from the problem's corner (the block tile starts at row0, col0).
template <class Store>
__device__ __forceinline__ void store_tile(const float (&acc)[8][8], int64_t row0, int64_t col0,
                                           int64_t rows, int64_t cols, int tx, int ty,
                                           const Store& store) {
  for (int i = 0; i < 8; ++i) {
    const int64_t row = row0 + offset(ty, i);
    if (row >= rows) continue;
    for (int j = 0; j < 8; ++j) {
      const int64_t col = col0 + offset(tx, j);
      if (col < cols) store(row, col, acc[i][j]);
    }
  }
}

}  // namespace signet::cuda::register_tile
