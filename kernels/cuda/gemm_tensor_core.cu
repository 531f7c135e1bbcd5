#include "kernels/cuda/gemm_tensor_core.h"

#include <cstdint>

#include "kernels/cuda/gemm_mma_tile.h"
#include "kernels/cuda/ptx.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::GemmDesc;

using namespace mma_tile;
constexpr int kSliceFloats = kKContigFloats;  // the larger of the two layouts
constexpr int kStageFloats = 2 * kSliceFloats;

// Starts the copy of the 128 x kDepth slice (o0.., p0..) of an operand into s with cp.async, the
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

// What a body multiplies with: tf32 fragments (v4), bf16 fragments built from the fp32 slices
// (v5), or bf16 tiles read with ldmatrix (v6).
enum class Math { kTf32, kBf16, kBf16Ldmatrix };

// v6's bf16 tiles: one per operand, [o][k] with k contiguous, 128 rows of 16 values (32 bytes).
constexpr int kTileBytes = kRows * kDepth * 2;

// Byte offset of chunk h (k = 8h..8h+7, 16 bytes) of row o in a bf16 tile; the two chunks trade
// places in rows 4..7 of every 8, so the 8 rows one ldmatrix matrix reads fall in 8 distinct
// 16-byte bank groups.
__device__ __forceinline__ int chunk_at(int o, int h) {
  return o * 32 + 16 * (h ^ ((o >> 2) & 1));
}

// Writes the landed fp32 slice s (laid out as load_slice<K_CONTIG> wrote it) to the bf16 tile t,
// each value rounded once: a thread converts one 8-value chunk, adjacent threads reading adjacent
// floats of s.
template <bool K_CONTIG>
__device__ __forceinline__ void convert_slice(unsigned char* t, const float* s, int tid) {
  const int o = K_CONTIG ? tid / 2 : tid % kRows, h = K_CONTIG ? tid % 2 : tid / kRows;
  uint32_t* out = reinterpret_cast<uint32_t*>(t + chunk_at(o, h));
  for (int i = 0; i < 4; ++i)
    out[i] = pack_bf16(s[at<K_CONTIG>(o, 8 * h + 2 * i)], s[at<K_CONTIG>(o, 8 * h + 2 * i + 1)]);
}

// One k16 step of mma.sync m16n8k16 bf16 on the warp's 64x32 tile, the fragments fetched from
// the bf16 tiles ta (rows of A) and tb (columns of B) with ldmatrix.x4: per 16-row band of A one
// 16x16 fragment (matrices rows 0-7 / 8-15 by k 0-7 / 8-15), per 16 columns of B two 16x8 ones.
__device__ __forceinline__ void multiply_tile_ldmatrix(float (&acc)[4][4][4],
                                                       const unsigned char* ta,
                                                       const unsigned char* tb, int wm, int wn,
                                                       int lane) {
  uint32_t bf[4][2];
  for (int np = 0; np < 2; ++np) {
    uint32_t r[4];
    ldmatrix(r, 4, false,
             tb + chunk_at(wn * 32 + np * 16 + lane % 8 + lane / 16 * 8, lane / 8 % 2));
    bf[2 * np][0] = r[0], bf[2 * np][1] = r[1], bf[2 * np + 1][0] = r[2], bf[2 * np + 1][1] = r[3];
  }
  // One A fragment at a time (4 registers, not 16): the 64 accumulators leave little room.
  for (int mi = 0; mi < 4; ++mi) {
    uint32_t af[4];
    ldmatrix(af, 4, false,
             ta + chunk_at(wm * 64 + mi * 16 + lane % 8 + (lane / 8 % 2) * 8, lane / 16));
    for (int ni = 0; ni < 4; ++ni) mma_m16n8k16_bf16(acc[mi][ni], af, bf[ni], acc[mi][ni]);
  }
}

// The block's main loop and epilogue: slice kt + 1 is copied (cp.async, one commit group a
// slice) while slice kt is multiplied; two shared stages (and v6's bf16 tiles after them).
template <bool TA, bool TB, Math MATH>
__device__ __forceinline__ void gemm_mma_body(const GemmDesc& d, float alpha, float beta,
                                              bool vec_a, bool vec_b, const float* a,
                                              const float* b, float* c) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
  const int wm = warp / 4, wn = warp % 4;
  const int64_t row0 = int64_t(blockIdx.y) * kRows, col0 = int64_t(blockIdx.x) * kCols;
  const float* ab = a + int64_t(blockIdx.z) * d.stride_a;
  const float* bb = b + int64_t(blockIdx.z) * d.stride_b;
  float acc[4][4][4];
  clear(acc);
  const int64_t slices = (d.k + kDepth - 1) / kDepth;
  if (slices > 0) {
    load_slice<!TA>(smem, ab, d.lda, vec_a, row0, d.m, 0, d.k, tid);
    load_slice<TB>(smem + kSliceFloats, bb, d.ldb, vec_b, col0, d.n, 0, d.k, tid);
  }
  cp_async_commit_group();
  for (int64_t kt = 0; kt < slices; ++kt) {
    if (kt + 1 < slices) {
      float* next = smem + ((kt + 1) % 2) * kStageFloats;
      load_slice<!TA>(next, ab, d.lda, vec_a, row0, d.m, (kt + 1) * kDepth, d.k, tid);
      load_slice<TB>(next + kSliceFloats, bb, d.ldb, vec_b, col0, d.n, (kt + 1) * kDepth, d.k, tid);
    }
    cp_async_commit_group();
    cp_async_wait_group(1);  // slice kt has landed; kt + 1 may still be in flight
    __syncthreads();
    const float* cur = smem + (kt % 2) * kStageFloats;
    if (MATH == Math::kBf16Ldmatrix) {
      unsigned char* tiles = reinterpret_cast<unsigned char*>(smem + 2 * kStageFloats);
      convert_slice<!TA>(tiles, cur, tid);
      convert_slice<TB>(tiles + kTileBytes, cur + kSliceFloats, tid);
      __syncthreads();  // the tiles are whole; the next wait's barrier guards their refill
      multiply_tile_ldmatrix(acc, tiles, tiles + kTileBytes, wm, wn, lane);
    } else if (MATH == Math::kBf16) {
      multiply_slice_bf16<TA, TB>(acc, cur, cur + kSliceFloats, wm, wn, lane);
    } else {
      multiply_slice_tf32<TA, TB>(acc, cur, cur + kSliceFloats, wm, wn, lane);
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  cp_async_wait_all();
  float* cb = c + int64_t(blockIdx.z) * d.stride_c;
  // C[row][col + e] = alpha * v_e + beta * C[row][col + e] inside C; beta == 0 ignores C's
  // previous value (even NaN).
  store_warp_tile(acc, row0 + wm * 64 + lane / 4, col0 + wn * 32 + (lane % 4) * 2,
                  [&](int64_t row, int64_t col, float v0, float v1) {
                    if (row >= d.m) return;
                    float* out = cb + row * d.ldc + col;
                    if (col < d.n) out[0] = beta == 0.0f ? alpha * v0 : alpha * v0 + beta * out[0];
                    if (col + 1 < d.n)
                      out[1] = beta == 0.0f ? alpha * v1 : alpha * v1 + beta * out[1];
                  });
}

// ---- v4: tf32 tensor cores. Changes from v3 (gemm_tiled.cu): mma.sync m16n8k8 on tf32-rounded
// operands (8x the fp32 FMA rate on sm_80) and cp.async double buffering that overlaps the next
// slice's copy with this one's math; should gain ~3-6x over v3 on large shapes.
template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads)
    gemm_tf32_kernel(GemmDesc d, float alpha, float beta, bool vec_a, bool vec_b,
                     const float* __restrict__ a, const float* __restrict__ b,
                     float* __restrict__ c) {
  gemm_mma_body<TA, TB, Math::kTf32>(d, alpha, beta, vec_a, vec_b, a, b, c);
}

// ---- v5: bf16 tensor cores. Changes from v4: mma.sync m16n8k16 on bf16-rounded operands (twice
// tf32's rate, half the fragment registers per k) with fp32 accumulation; should gain up to 2x
// over v4 in the math, for 8 instead of 11 significant bits in the inputs.
template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads)
    gemm_bf16_kernel(GemmDesc d, float alpha, float beta, bool vec_a, bool vec_b,
                     const float* __restrict__ a, const float* __restrict__ b,
                     float* __restrict__ c) {
  gemm_mma_body<TA, TB, Math::kBf16>(d, alpha, beta, vec_a, vec_b, a, b, c);
}

// ---- v6: bf16 tiles read with ldmatrix. Changes from v5: once a slice has landed, the block
// rounds it to one bf16 tile per operand (each value rounded once instead of once per warp that
// reads it) and the warps fetch their fragments with ldmatrix.x4 (one instruction per 16x16
// fragment instead of 8 scalar shared loads and 4 packs); should gain ~1.2-1.5x over v5 where
// shared-memory instructions limit it. One block an SM at least (the 128-register budget of two
// spilled on sm_90).
template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_bf16_ldmatrix_kernel(GemmDesc d, float alpha, float beta, bool vec_a, bool vec_b,
                              const float* __restrict__ a, const float* __restrict__ b,
                              float* __restrict__ c) {
  gemm_mma_body<TA, TB, Math::kBf16Ldmatrix>(d, alpha, beta, vec_a, vec_b, a, b, c);
}

using MmaKernel = void (*)(GemmDesc, float, float, bool, bool, const float*, const float*, float*);

// Whether an operand's 4-float groups are 16-byte aligned in every batch item.
bool vec_ok(const float* p, int64_t ld, int64_t stride, int64_t batch) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0 && (batch == 1 || stride % 4 == 0);
}

// Launches kernel (chosen for d's transposes): 256 threads and two 20 KiB stages a block (plus
// `extra` bytes), one grid z per batch item (at most 65535).
cudaError_t launch_mma(const MmaKernel (&kernels)[2][2], const GemmDesc& d, const float* a,
                       const float* b, float* c, size_t extra = 0) {
  if (d.m == 0 || d.n == 0 || d.batch == 0) return cudaSuccess;
  if (d.batch > 65535 || (d.m + kRows - 1) / kRows > 65535) return cudaErrorInvalidConfiguration;
  const dim3 grid(unsigned((d.n + kCols - 1) / kCols), unsigned((d.m + kRows - 1) / kRows),
                  unsigned(d.batch));
  const size_t shmem = size_t(2) * kStageFloats * sizeof(float) + extra;
  launch_kernel(kernels[d.trans_a][d.trans_b], grid, dim3(kThreads), shmem, current_stream(), d,
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

// v6 over the four transpose kernels: 48 KiB of shared memory a block (the default limit).
cudaError_t gemm_v6_bf16_ldmatrix_f32(const GemmDesc& d, const float* a, const float* b, float* c) {
  static const MmaKernel kernels[2][2] = {
      {gemm_bf16_ldmatrix_kernel<false, false>, gemm_bf16_ldmatrix_kernel<false, true>},
      {gemm_bf16_ldmatrix_kernel<true, false>, gemm_bf16_ldmatrix_kernel<true, true>}};
  return launch_mma(kernels, d, a, b, c, size_t(2) * kTileBytes);
}

}  // namespace signet::cuda
