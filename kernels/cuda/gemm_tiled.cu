#include "kernels/cuda/gemm_tiled.h"

#include <cstdint>

#include "kernels/cuda/gemm_register_tile.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::GemmDesc;

// C[idx] = alpha * acc + beta * C[idx]; beta == 0 ignores C's previous value (even NaN).
__device__ __forceinline__ void store_c(float* c, int64_t idx, float acc, float alpha, float beta) {
  c[idx] = beta == 0.0f ? alpha * acc : alpha * acc + beta * c[idx];
}

// ---- v2: shared-memory tiles. Changes from v1: each A and B element is read from global memory
// once per 32-wide tile instead of once per output; should gain ~10x bandwidth headroom.
constexpr int kT2 = 32;

// Thread (x, y) of block (bx, by, batch) computes C[by*32+y][bx*32+x]; the +1 padding keeps the
// transposed stores into shared memory free of bank conflicts.
__global__ void __launch_bounds__(kT2* kT2)
    gemm_tiled_kernel(GemmDesc d, float alpha, float beta, const float* __restrict__ a,
                      const float* __restrict__ b, float* __restrict__ c) {
  __shared__ float as[kT2][kT2 + 1];  // as[row][p]
  __shared__ float bs[kT2][kT2 + 1];  // bs[p][col]
  const int tx = int(threadIdx.x), ty = int(threadIdx.y);
  const int64_t row0 = int64_t(blockIdx.y) * kT2, col0 = int64_t(blockIdx.x) * kT2;
  const float* ab = a + int64_t(blockIdx.z) * d.stride_a;
  const float* bb = b + int64_t(blockIdx.z) * d.stride_b;
  float acc = 0.0f;
  for (int64_t p0 = 0; p0 < d.k; p0 += kT2) {
    // tx walks the dimension each operand stores contiguously, so the global loads coalesce.
    if (!d.trans_a) {
      const int64_t r = row0 + ty, p = p0 + tx;
      as[ty][tx] = r < d.m && p < d.k ? ab[r * d.lda + p] : 0.0f;
    } else {
      const int64_t p = p0 + ty, r = row0 + tx;
      as[tx][ty] = r < d.m && p < d.k ? ab[p * d.lda + r] : 0.0f;
    }
    if (!d.trans_b) {
      const int64_t p = p0 + ty, col = col0 + tx;
      bs[ty][tx] = p < d.k && col < d.n ? bb[p * d.ldb + col] : 0.0f;
    } else {
      const int64_t col = col0 + ty, p = p0 + tx;
      bs[tx][ty] = p < d.k && col < d.n ? bb[col * d.ldb + p] : 0.0f;
    }
    __syncthreads();
    for (int q = 0; q < kT2; ++q) acc = fmaf(as[ty][q], bs[q][tx], acc);
    __syncthreads();
  }
  const int64_t row = row0 + ty, col = col0 + tx;
  if (row < d.m && col < d.n)
    store_c(c + int64_t(blockIdx.z) * d.stride_c, row * d.ldc + col, acc, alpha, beta);
}

// ---- v3: register tiles. Changes from v2: a 128x128x8 block tile, 8x8 outputs per thread held
// in registers (16 shared loads per 64 FMAs instead of 2 per 1), float4 global and shared loads;
// should gain ~4-8x over v2 by leaving the shared-memory bandwidth limit behind.
using register_tile::kDepth;
using register_tile::kRows;

// Loads the kDepth x 128 slice (p0.., o0..) of an operand into s[p][o] (o contiguous), zero outside
// [0, outer) x [0, k). k_contig: element (o, p) is at src[o*ld + p] (else at src[p*ld + o]).
// vec: src, ld and the batch stride allow float4 loads (16-byte aligned groups of 4).
__device__ __forceinline__ void load_slice(float* s, const float* src, int64_t ld, bool k_contig,
                                           bool vec, int64_t o0, int64_t outer, int64_t p0,
                                           int64_t k, int tid) {
  float v[4];
  if (k_contig) {
    const int o = tid / 2, q = (tid % 2) * 4;
    const int64_t go = o0 + o, gp = p0 + q;
    if (vec && go < outer && gp + 3 < k) {
      const float4 x = *reinterpret_cast<const float4*>(src + go * ld + gp);
      v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
    } else {
      for (int i = 0; i < 4; ++i) v[i] = go < outer && gp + i < k ? src[go * ld + gp + i] : 0.0f;
    }
    for (int i = 0; i < 4; ++i) s[(q + i) * kRows + o] = v[i];
  } else {
    const int p = tid / 32, o = (tid % 32) * 4;
    const int64_t go = o0 + o, gp = p0 + p;
    if (vec && gp < k && go + 3 < outer) {
      const float4 x = *reinterpret_cast<const float4*>(src + gp * ld + go);
      v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
    } else {
      for (int i = 0; i < 4; ++i) v[i] = gp < k && go + i < outer ? src[gp * ld + go + i] : 0.0f;
    }
    *reinterpret_cast<float4*>(s + p * kRows + o) = make_float4(v[0], v[1], v[2], v[3]);
  }
}

// Block (bx, by, batch) computes the 128x128 tile of C at (by*128, bx*128) on the register
// tiling of gemm_register_tile.h. One shared buffer, two barriers per 8-deep slice of k.
__global__ void __launch_bounds__(register_tile::kThreads)
    gemm_register_kernel(GemmDesc d, float alpha, float beta, bool vec_a, bool vec_b,
                         const float* __restrict__ a, const float* __restrict__ b,
                         float* __restrict__ c) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  float* as = smem;                   // as[p][row], kDepth x kRows
  float* bs = smem + kDepth * kRows;  // bs[p][col], kDepth x kCols
  const int tid = int(threadIdx.x), tx = tid % 16, ty = tid / 16;
  const int64_t row0 = int64_t(blockIdx.y) * kRows,
                col0 = int64_t(blockIdx.x) * register_tile::kCols;
  const float* ab = a + int64_t(blockIdx.z) * d.stride_a;
  const float* bb = b + int64_t(blockIdx.z) * d.stride_b;
  float acc[8][8];
  register_tile::clear(acc);
  for (int64_t p0 = 0; p0 < d.k; p0 += kDepth) {
    load_slice(as, ab, d.lda, !d.trans_a, vec_a, row0, d.m, p0, d.k, tid);
    load_slice(bs, bb, d.ldb, d.trans_b, vec_b, col0, d.n, p0, d.k, tid);
    __syncthreads();
    register_tile::multiply_slice(acc, as, bs, tx, ty);
    __syncthreads();
  }
  float* cb = c + int64_t(blockIdx.z) * d.stride_c;
  register_tile::store_tile(
      acc, row0, col0, d.m, d.n, tx, ty,
      [&](int64_t row, int64_t col, float v) { store_c(cb, row * d.ldc + col, v, alpha, beta); });
}

// Whether an operand's float4 groups are 16-byte aligned in every batch item.
bool vec_ok(const float* p, int64_t ld, int64_t stride, int64_t batch) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0 && (batch == 1 || stride % 4 == 0);
}

}  // namespace

// 32 x 32 threads a block, one grid z per batch item (at most 65535).
cudaError_t gemm_v2_tiled_f32(const GemmDesc& d, const float* a, const float* b, float* c) {
  if (d.m == 0 || d.n == 0 || d.batch == 0) return cudaSuccess;
  if (d.batch > 65535 || (d.m + kT2 - 1) / kT2 > 65535) return cudaErrorInvalidConfiguration;
  const dim3 block(kT2, kT2);
  const dim3 grid(unsigned((d.n + kT2 - 1) / kT2), unsigned((d.m + kT2 - 1) / kT2),
                  unsigned(d.batch));
  launch_kernel(gemm_tiled_kernel, grid, block, 0, current_stream(), d, float(d.alpha),
                float(d.beta), a, b, c);
  return cudaGetLastError();
}

// 256 threads and 8 KiB of shared memory a block, one grid z per batch item (at most 65535).
cudaError_t gemm_v3_register_f32(const GemmDesc& d, const float* a, const float* b, float* c) {
  if (d.m == 0 || d.n == 0 || d.batch == 0) return cudaSuccess;
  if (d.batch > 65535 || (d.m + kRows - 1) / kRows > 65535) return cudaErrorInvalidConfiguration;
  const int64_t cols = register_tile::kCols;
  const dim3 grid(unsigned((d.n + cols - 1) / cols), unsigned((d.m + kRows - 1) / kRows),
                  unsigned(d.batch));
  const size_t shmem = size_t(register_tile::kSharedFloats) * sizeof(float);
  launch_kernel(gemm_register_kernel, grid, dim3(register_tile::kThreads), shmem, current_stream(),
                d, float(d.alpha), float(d.beta), vec_ok(a, d.lda, d.stride_a, d.batch),
                vec_ok(b, d.ldb, d.stride_b, d.batch), a, b, c);
  return cudaGetLastError();
}

}  // namespace signet::cuda
