#include "kernels/cuda/gemm_tensor_core.h"

#include <cstdint>

#include "kernels/cuda/ptx.h"

namespace signet::cuda {
namespace {

using kernels::GemmDesc;

// Block tile 128x128x16, 8 warps as 2 (m) x 4 (n), each warp a 64x32 tile of C: 4 x 4 mma tiles
// of 16x8, 64 fp32 accumulators a thread.
constexpr int kBM = 128, kBN = 128, kBK = 16, kThreads = 256;
constexpr int kKStride = kBK + 4;  // [outer][k] slices: row g * 20 + t hits 32 distinct banks
constexpr int kOStride = kBM + 8;  // [k][outer] slices: row t * 136 + g hits 32 distinct banks
constexpr int kSliceFloats = kBM * kKStride;  // the larger of the two layouts (2560 > 2176)
constexpr int kStageFloats = 2 * kSliceFloats;

// Index of element (o, p) of a shared slice laid out [o][p] (K_CONTIG) or [p][o].
template <bool K_CONTIG>
__device__ __forceinline__ int at(int o, int p) {
  return K_CONTIG ? o * kKStride + p : p * kOStride + o;
}

// Starts the copy of the 128 x kBK slice (o0.., p0..) of an operand into s with cp.async, the
// layout of s following the operand's (K_CONTIG: element (o, p) at src[o*ld + p], else at
// src[p*ld + o]); 16-byte copies where vec allows and all 4 are inside, 4-byte ones at the
// edges, plain zero stores outside [0, outer) x [0, k).
template <bool K_CONTIG>
__device__ __forceinline__ void load_slice(float* s, const float* src, int64_t ld, bool vec,
                                           int64_t o0, int64_t outer, int64_t p0, int64_t k,
                                           int tid) {
  for (int j = 0; j < 2; ++j) {
    const int chunk = tid + j * kThreads;
    const int o = K_CONTIG ? chunk / 4 : (chunk % 32) * 4;
    const int p = K_CONTIG ? (chunk % 4) * 4 : chunk / 32;
    const int64_t go = o0 + o, gp = p0 + p;
    float* dst = s + at<K_CONTIG>(o, p);
    const float* from = K_CONTIG ? src + go * ld + gp : src + gp * ld + go;
    const bool inside = K_CONTIG ? go < outer && gp + 3 < k : gp < k && go + 3 < outer;
    if (vec && inside) {
      cp_async(dst, from, 16);
      continue;
    }
    for (int i = 0; i < 4; ++i) {
      const bool in = K_CONTIG ? go < outer && gp + i < k : gp < k && go + i < outer;
      float* di = s + (K_CONTIG ? at<K_CONTIG>(o, p + i) : at<K_CONTIG>(o + i, p));
      if (in)
        cp_async(di, from + i, 4);
      else
        *di = 0.0f;
    }
  }
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

// One kBK-deep slice of mma.sync m16n8k8 tf32 on the warp's 64x32 tile: fragments read from
// shared memory by the PTX ISA layout (g = lane / 4, t = lane % 4) and rounded with cvt.rna.
template <bool TA, bool TB>
__device__ __forceinline__ void mma_slice_tf32(float (&acc)[4][4][4], const float* as,
                                               const float* bs, int wm, int wn, int lane) {
  const int g = lane / 4, t = lane % 4;
  for (int kk = 0; kk < kBK; kk += 8) {
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

// One kBK-deep slice (a single k16 step) of mma.sync m16n8k16 bf16 on the warp's 64x32 tile,
// the fp32 shared values rounded to bf16 as the fragments are built.
template <bool TA, bool TB>
__device__ __forceinline__ void mma_slice_bf16(float (&acc)[4][4][4], const float* as,
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

// C[row][col + e] = alpha * v_e + beta * C[row][col + e] for e = 0, 1 inside C; beta == 0
// ignores C's previous value (even NaN).
__device__ __forceinline__ void store_pair(const GemmDesc& d, float* c, int64_t row, int64_t col,
                                           float v0, float v1, float alpha, float beta) {
  if (row >= d.m) return;
  float* out = c + row * d.ldc + col;
  if (col < d.n) out[0] = beta == 0.0f ? alpha * v0 : alpha * v0 + beta * out[0];
  if (col + 1 < d.n) out[1] = beta == 0.0f ? alpha * v1 : alpha * v1 + beta * out[1];
}

// The four 16x8 accumulator tiles v of one 16-row band of the warp's tile, at (row, col) for
// this lane's first element.
__device__ __forceinline__ void store_band(const GemmDesc& d, float* c, int64_t row, int64_t col,
                                           const float (&v)[4][4], float alpha, float beta) {
  for (int ni = 0; ni < 4; ++ni) {
    store_pair(d, c, row, col + ni * 8, v[ni][0], v[ni][1], alpha, beta);
    store_pair(d, c, row + 8, col + ni * 8, v[ni][2], v[ni][3], alpha, beta);
  }
}

// The block's main loop and epilogue: slice kt + 1 is copied (cp.async, one commit group a
// slice) while slice kt is multiplied; two shared stages.
template <bool TA, bool TB, bool BF16>
__device__ __forceinline__ void gemm_mma_body(const GemmDesc& d, float alpha, float beta,
                                              bool vec_a, bool vec_b, const float* a,
                                              const float* b, float* c) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
  const int wm = warp / 4, wn = warp % 4;
  const int64_t row0 = int64_t(blockIdx.y) * kBM, col0 = int64_t(blockIdx.x) * kBN;
  const float* ab = a + int64_t(blockIdx.z) * d.stride_a;
  const float* bb = b + int64_t(blockIdx.z) * d.stride_b;
  float acc[4][4][4];
  for (int mi = 0; mi < 4; ++mi)
    for (int ni = 0; ni < 4; ++ni)
      for (int e = 0; e < 4; ++e) acc[mi][ni][e] = 0.0f;
  const int64_t slices = (d.k + kBK - 1) / kBK;
  if (slices > 0) {
    load_slice<!TA>(smem, ab, d.lda, vec_a, row0, d.m, 0, d.k, tid);
    load_slice<TB>(smem + kSliceFloats, bb, d.ldb, vec_b, col0, d.n, 0, d.k, tid);
  }
  cp_async_commit_group();
  for (int64_t kt = 0; kt < slices; ++kt) {
    if (kt + 1 < slices) {
      float* next = smem + ((kt + 1) % 2) * kStageFloats;
      load_slice<!TA>(next, ab, d.lda, vec_a, row0, d.m, (kt + 1) * kBK, d.k, tid);
      load_slice<TB>(next + kSliceFloats, bb, d.ldb, vec_b, col0, d.n, (kt + 1) * kBK, d.k, tid);
    }
    cp_async_commit_group();
    cp_async_wait_group(1);  // slice kt has landed; kt + 1 may still be in flight
    __syncthreads();
    const float* cur = smem + (kt % 2) * kStageFloats;
    if (BF16)
      mma_slice_bf16<TA, TB>(acc, cur, cur + kSliceFloats, wm, wn, lane);
    else
      mma_slice_tf32<TA, TB>(acc, cur, cur + kSliceFloats, wm, wn, lane);
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  cp_async_wait_all();
  float* cb = c + int64_t(blockIdx.z) * d.stride_c;
  const int g = lane / 4;
  const int64_t row = row0 + wm * 64 + g, col = col0 + wn * 32 + (lane % 4) * 2;
  // One call per 16-row band, spelled out: nvcc leaves a 4 x 4 x 4 loop nest rolled, and the
  // accumulators would go to local memory.
  store_band(d, cb, row, col, acc[0], alpha, beta);
  store_band(d, cb, row + 16, col, acc[1], alpha, beta);
  store_band(d, cb, row + 32, col, acc[2], alpha, beta);
  store_band(d, cb, row + 48, col, acc[3], alpha, beta);
}

// ---- v4: tf32 tensor cores. Changes from v3 (gemm_tiled.cu): mma.sync m16n8k8 on tf32-rounded
// operands (8x the fp32 FMA rate on sm_80) and cp.async double buffering that overlaps the next
// slice's copy with this one's math; should gain ~3-6x over v3 on large shapes.
template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads)
    gemm_tf32_kernel(GemmDesc d, float alpha, float beta, bool vec_a, bool vec_b,
                     const float* __restrict__ a, const float* __restrict__ b,
                     float* __restrict__ c) {
  gemm_mma_body<TA, TB, false>(d, alpha, beta, vec_a, vec_b, a, b, c);
}

// ---- v5: bf16 tensor cores. Changes from v4: mma.sync m16n8k16 on bf16-rounded operands (twice
// tf32's rate, half the fragment registers per k) with fp32 accumulation; should gain up to 2x
// over v4 in the math, for 8 instead of 11 significant bits in the inputs.
template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads)
    gemm_bf16_kernel(GemmDesc d, float alpha, float beta, bool vec_a, bool vec_b,
                     const float* __restrict__ a, const float* __restrict__ b,
                     float* __restrict__ c) {
  gemm_mma_body<TA, TB, true>(d, alpha, beta, vec_a, vec_b, a, b, c);
}

using MmaKernel = void (*)(GemmDesc, float, float, bool, bool, const float*, const float*, float*);

// Whether an operand's 4-float groups are 16-byte aligned in every batch item.
bool vec_ok(const float* p, int64_t ld, int64_t stride, int64_t batch) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0 && (batch == 1 || stride % 4 == 0);
}

// Launches kernel (chosen for d's transposes): 256 threads and two 20 KiB stages a block, one
// grid z per batch item (at most 65535).
cudaError_t launch_mma(const MmaKernel (&kernels)[2][2], const GemmDesc& d, const float* a,
                       const float* b, float* c) {
  if (d.m == 0 || d.n == 0 || d.batch == 0) return cudaSuccess;
  if (d.batch > 65535 || (d.m + kBM - 1) / kBM > 65535) return cudaErrorInvalidConfiguration;
  const dim3 grid(unsigned((d.n + kBN - 1) / kBN), unsigned((d.m + kBM - 1) / kBM),
                  unsigned(d.batch));
  const size_t shmem = size_t(2) * kStageFloats * sizeof(float);
  launch_kernel(kernels[d.trans_a][d.trans_b], grid, dim3(kThreads), shmem, nullptr, d,
                float(d.alpha), float(d.beta), vec_ok(a, d.lda, d.stride_a, d.batch),
                vec_ok(b, d.ldb, d.stride_b, d.batch), a, b, c);
  return cudaGetLastError();
}

}  // namespace

// v4 over the four transpose kernels.
cudaError_t gemm_v4_tf32_f32(const GemmDesc& d, const float* a, const float* b, float* c) {
  static const MmaKernel kernels[2][2] = {
      {gemm_tf32_kernel<false, false>, gemm_tf32_kernel<false, true>},
      {gemm_tf32_kernel<true, false>, gemm_tf32_kernel<true, true>}};
  return launch_mma(kernels, d, a, b, c);
}

// v5 over the four transpose kernels.
cudaError_t gemm_v5_bf16_f32(const GemmDesc& d, const float* a, const float* b, float* c) {
  static const MmaKernel kernels[2][2] = {
      {gemm_bf16_kernel<false, false>, gemm_bf16_kernel<false, true>},
      {gemm_bf16_kernel<true, false>, gemm_bf16_kernel<true, true>}};
  return launch_mma(kernels, d, a, b, c);
}

}  // namespace signet::cuda
