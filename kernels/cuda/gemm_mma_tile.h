// The tensor-core block tile shared by the GEMM (gemm_tensor_core.cu, v4 tf32 and v5 bf16) and the
// implicit-GEMM convolution (conv_igemm_mma.cu): a 128x128 block tile over 16-deep slices, 8 warps
// as 2 (rows) x 4 (columns), each warp a 64x32 tile of 4 x 4 mma tiles of 16x8, 64 fp32
// accumulators a thread. The slices sit in shared memory as fp32, in one of two padded layouts:
//   [o][k] (k contiguous, row stride kKStride)  or  [k][o] (o contiguous, row stride kOStride);
// the fragments are read by the PTX ISA's layout (g = lane / 4, t = lane % 4) and rounded to
// tf32 (cvt.rna) or bf16 (nearest even) as they are built.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"
#include "kernels/cuda/ptx.h"

namespace signet::cuda::mma_tile {

constexpr int kRows = 128, kCols = 128, kDepth = 16, kThreads = 256;
constexpr int kKStride = kDepth + 4;               // [o][k]: row g * 20 + t hits 32 distinct banks
constexpr int kOStride = kRows + 8;                // [k][o]: row t * 136 + g hits 32 distinct banks
constexpr int kKContigFloats = kRows * kKStride;   // 2560
constexpr int kOContigFloats = kDepth * kOStride;  // 2176

// Index of element (o, p) of a shared slice laid out [o][p] (K_CONTIG) or [p][o].
template <bool K_CONTIG>
__device__ __forceinline__ int at(int o, int p) {
  return K_CONTIG ? o * kKStride + p : p * kOStride + o;
}

// Sets every accumulator to zero.
__device__ __forceinline__ void clear(float (&acc)[4][4][4]) {
  for (int mi = 0; mi < 4; ++mi)
    for (int ni = 0; ni < 4; ++ni)
      for (int e = 0; e < 4; ++e) acc[mi][ni][e] = 0.0f;
}

// bf16 bits of x rounded to nearest even (NaN stays a quiet NaN), as __float2bfloat16_rn.
__device__ __forceinline__ uint32_t bf16_bits(float x) {
  const uint32_t u = __float_as_uint(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

// Two bf16 in one register, lo in the low half (the mma fragments' element order).
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  return bf16_bits(lo) | (bf16_bits(hi) << 16);
}

// One kDepth-deep slice of mma.sync m16n8k8 tf32 on the warp's 64x32 tile (wm, wn): A's slice
// as (row r, k) laid out [r][k] unless TA, B's bs (column c, k) laid out [k][c] unless TB.
template <bool TA, bool TB>
__device__ __forceinline__ void multiply_slice_tf32(float (&acc)[4][4][4], const float* as,
                                                    const float* bs, int wm, int wn, int lane) {
  const int g = lane / 4, t = lane % 4;
  for (int kk = 0; kk < kDepth; kk += 8) {
    uint32_t af[4][4], bf[4][2];
    for (int mi = 0; mi < 4; ++mi) {
      const int r = wm * 64 + mi * 16 + g;
      af[mi][0] = f32_to_tf32(as[at<!TA>(r, kk + t)]);
      af[mi][1] = f32_to_tf32(as[at<!TA>(r + 8, kk + t)]);
      af[mi][2] = f32_to_tf32(as[at<!TA>(r, kk + t + 4)]);
      af[mi][3] = f32_to_tf32(as[at<!TA>(r + 8, kk + t + 4)]);
    }
    for (int ni = 0; ni < 4; ++ni) {
      const int col = wn * 32 + ni * 8 + g;
      bf[ni][0] = f32_to_tf32(bs[at<TB>(col, kk + t)]);
      bf[ni][1] = f32_to_tf32(bs[at<TB>(col, kk + t + 4)]);
    }
    for (int mi = 0; mi < 4; ++mi)
      for (int ni = 0; ni < 4; ++ni) mma_m16n8k8_tf32(acc[mi][ni], af[mi], bf[ni], acc[mi][ni]);
  }
}

// One kDepth-deep slice (a single k16 step) of mma.sync m16n8k16 bf16 on the warp's 64x32 tile,
// the layouts as multiply_slice_tf32's.
template <bool TA, bool TB>
__device__ __forceinline__ void multiply_slice_bf16(float (&acc)[4][4][4], const float* as,
                                                    const float* bs, int wm, int wn, int lane) {
  const int g = lane / 4, t2 = (lane % 4) * 2;
  uint32_t af[4][4], bf[4][2];
  for (int mi = 0; mi < 4; ++mi) {
    const int r = wm * 64 + mi * 16 + g;
    af[mi][0] = pack_bf16(as[at<!TA>(r, t2)], as[at<!TA>(r, t2 + 1)]);
    af[mi][1] = pack_bf16(as[at<!TA>(r + 8, t2)], as[at<!TA>(r + 8, t2 + 1)]);
    af[mi][2] = pack_bf16(as[at<!TA>(r, t2 + 8)], as[at<!TA>(r, t2 + 9)]);
    af[mi][3] = pack_bf16(as[at<!TA>(r + 8, t2 + 8)], as[at<!TA>(r + 8, t2 + 9)]);
  }
  for (int ni = 0; ni < 4; ++ni) {
    const int col = wn * 32 + ni * 8 + g;
    bf[ni][0] = pack_bf16(bs[at<TB>(col, t2)], bs[at<TB>(col, t2 + 1)]);
    bf[ni][1] = pack_bf16(bs[at<TB>(col, t2 + 8)], bs[at<TB>(col, t2 + 9)]);
  }
  for (int mi = 0; mi < 4; ++mi)
    for (int ni = 0; ni < 4; ++ni) mma_m16n8k16_bf16(acc[mi][ni], af[mi], bf[ni], acc[mi][ni]);
}

// store(row, col, v0, v1) for the four 16x8 accumulator tiles v of one 16-row band, this lane's
// first element at (row, col); v0 belongs at col, v1 at col + 1.
template <class Store>
__device__ __forceinline__ void store_band(const float (&v)[4][4], int64_t row, int64_t col,
                                           const Store& store) {
  for (int ni = 0; ni < 4; ++ni) {
    store(row, col + ni * 8, v[ni][0], v[ni][1]);
    store(row + 8, col + ni * 8, v[ni][2], v[ni][3]);
  }
}

// store_band over the warp's four bands, this lane's first element at (row, col) = (row0 + wm*64
// + lane/4, col0 + wn*32 + (lane%4)*2). One call per band, spelled out: nvcc leaves a 4 x 4 x 4
// loop nest rolled, and the accumulators would go to local memory.
template <class Store>
__device__ __forceinline__ void store_warp_tile(const float (&acc)[4][4][4], int64_t row,
                                                int64_t col, const Store& store) {
  store_band(acc[0], row, col, store);
  store_band(acc[1], row + 16, col, store);
  store_band(acc[2], row + 32, col, store);
  store_band(acc[3], row + 48, col, store);
}

}  // namespace signet::cuda::mma_tile
