// The tensor-core rungs of the implicit-GEMM convolution (conv_igemm.h): v3 on tf32 and v4 on
// bf16, each for forward, backward-data and backward-weights, on the GEMM's tensor-core block
// tile (gemm_mma_tile.h) with the operands of conv_igemm_ops.h.
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/conv_igemm_ops.h"
#include "kernels/cuda/gemm_mma_tile.h"
#include "kernels/cuda/ptx.h"

namespace signet::cuda {
namespace {

using kernels::ConvDesc;

using namespace igemm;
using mma_tile::at;
using mma_tile::kDepth;
using mma_tile::kRows;
using mma_tile::kThreads;
constexpr int64_t kCols = mma_tile::kCols;
static_assert(kRows == kTile && kCols == kTile && kThreads == kTileThreads,
              "launch_tiles launches the tile this file computes");

// Shared memory a block: two stages, each A's slice [row][r], then B's [r][column].
constexpr int kStageFloats = mma_tile::kKContigFloats + mma_tile::kOContigFloats;
constexpr size_t kSharedBytes = size_t(2) * kStageFloats * sizeof(float);

// Starts the copy of one gathered element into shared dst with a 4-byte cp.async, or stores 0
// there when src is nullptr (padding, a missing tap, outside the product).
__device__ __forceinline__ void copy_or_zero(float* dst, const float* src) {
  if (src)
    cp_async(dst, src, 4);
  else
    *dst = 0.0f;
}

// Starts the copy of reduction slice [r0, r0 + kDepth) of group g's A rows from row0 into as
// (128 x 16, 8 consecutive r a thread) and B columns from col0 into bs (16 x 128, 8 a thread,
// adjacent threads on adjacent columns); zeros past r_end, s.rows and s.cols.
template <class Ops>
__device__ __forceinline__ void load_slice(const Ops& ops, float* as, float* bs, int64_t g,
                                           int64_t row0, int64_t col0, int64_t r0, int64_t r_end,
                                           int tid) {
  const IgemmShape& s = ops.s;
  {
    const int o = tid / 2, q = (tid % 2) * 8;
    const int64_t f = row0 + o;
    for (int i = 0; i < 8; ++i) {
      const int64_t r = r0 + q + i;
      copy_or_zero(as + at<true>(o, q + i),
                   f < s.rows && r < r_end ? ops.a_address(g, f, r) : nullptr);
    }
  }
  for (int i = 0; i < 8; ++i) {
    const int e = tid + i * kThreads, q = e / int(kCols), o = e % int(kCols);
    const int64_t r = r0 + q, p = col0 + o;
    copy_or_zero(bs + at<false>(o, q), r < r_end && p < s.cols ? ops.b_address(g, r, p) : nullptr);
  }
}

// ---- v3 (tf32) and v4 (bf16): tensor cores. Changes from v2 (conv_igemm.cu): the GEMM's
// mma.sync block tile (128x128x16, 64x32 warp tiles) on operands rounded to tf32 (m16n8k8, 8x
// the fp32 FMA rate on sm_80) or bf16 (m16n8k16, 16x), fp32 accumulation, and the GEMM's cp.async
// double buffering (one 4-byte cp.async per gathered element, the next slice's gather in flight
// while this one is multiplied); should gain ~2-4x over v2 where the reduction is long.
// One 128x128 output tile of group g over reduction indices [r_begin, r_end): slice kt + 1 is
// gathered into one shared stage (load_slice, one commit group a slice) while each warp runs its
// 4 x 4 mma tiles on slice kt in the other; the results go to ops.store.
template <bool BF16, class Ops>
__device__ __forceinline__ void igemm_mma_tile(const Ops& ops, float* smem, int64_t g,
                                               int64_t split, int64_t r_begin, int64_t r_end) {
  const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
  const int wm = warp / 4, wn = warp % 4;
  const int64_t row0 = int64_t(blockIdx.y) * kRows, col0 = int64_t(blockIdx.x) * kCols;
  const IgemmShape& s = ops.s;
  float acc[4][4][4];
  mma_tile::clear(acc);
  const int64_t slices = r_end > r_begin ? (r_end - r_begin + kDepth - 1) / kDepth : 0;
  if (slices > 0)
    load_slice(ops, smem, smem + mma_tile::kKContigFloats, g, row0, col0, r_begin, r_end, tid);
  cp_async_commit_group();
  for (int64_t kt = 0; kt < slices; ++kt) {
    if (kt + 1 < slices) {
      float* next = smem + ((kt + 1) % 2) * kStageFloats;
      load_slice(ops, next, next + mma_tile::kKContigFloats, g, row0, col0,
                 r_begin + (kt + 1) * kDepth, r_end, tid);
    }
    cp_async_commit_group();
    cp_async_wait_group(1);  // slice kt has landed; kt + 1 may still be in flight
    __syncthreads();
    const float* as = smem + (kt % 2) * kStageFloats;  // as[row][r]
    const float* bs = as + mma_tile::kKContigFloats;   // bs[r][column]
    if (BF16)
      mma_tile::multiply_slice_bf16<false, false>(acc, as, bs, wm, wn, lane);
    else
      mma_tile::multiply_slice_tf32<false, false>(acc, as, bs, wm, wn, lane);
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  cp_async_wait_all();
  mma_tile::store_warp_tile(acc, row0 + wm * 64 + lane / 4, col0 + wn * 32 + (lane % 4) * 2,
                            [&](int64_t f, int64_t p, float v0, float v1) {
                              if (f >= s.rows) return;
                              if (p < s.cols) ops.store(g, split, f, p, v0);
                              if (p + 1 < s.cols) ops.store(g, split, f, p + 1, v1);
                            });
}

// The block's split of a backward-weights launch: block z = group + groups * split covers
// reduction indices [split*chunk, (split+1)*chunk).
template <bool BF16>
__device__ __forceinline__ void weights_tile(const WeightsOps& ops, int64_t chunk) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  const int64_t g = blockIdx.z % ops.d.groups, split = blockIdx.z / ops.d.groups;
  const int64_t begin = split * chunk, end = begin + chunk;
  igemm_mma_tile<BF16>(ops, smem, g, split, begin, end < ops.s.depth ? end : ops.s.depth);
}

// v3 forward: block (column tile, filter tile, group).
__global__ void __launch_bounds__(kThreads, 1) conv_igemm_tf32_forward_kernel(ForwardOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_mma_tile<false>(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// v3 backward-data: block (input-column tile, channel tile, group).
__global__ void __launch_bounds__(kThreads, 1) conv_igemm_tf32_data_kernel(DataOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_mma_tile<false>(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// v3 backward-weights: block (tap-column tile, filter tile, group + groups * split).
__global__ void __launch_bounds__(kThreads, 1)
    conv_igemm_tf32_weights_kernel(WeightsOps ops, int64_t chunk) {
  weights_tile<false>(ops, chunk);
}

// v4 forward: as v3's on bf16.
__global__ void __launch_bounds__(kThreads, 1) conv_igemm_bf16_forward_kernel(ForwardOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_mma_tile<true>(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// v4 backward-data: as v3's on bf16.
__global__ void __launch_bounds__(kThreads, 1) conv_igemm_bf16_data_kernel(DataOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_mma_tile<true>(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// v4 backward-weights: as v3's on bf16.
__global__ void __launch_bounds__(kThreads, 1)
    conv_igemm_bf16_weights_kernel(WeightsOps ops, int64_t chunk) {
  weights_tile<true>(ops, chunk);
}

}  // namespace

// One grid z per group (at most 65535), 256 threads and 37 KiB of shared memory a block.
cudaError_t conv_v3_igemm_tf32_forward_f32(const ConvDesc& d, const float* x, const float* w,
                                           const float* bias, float* y) {
  return launch_tiles(conv_igemm_tf32_forward_kernel, forward_ops(d, x, w, bias, y), d.groups,
                      kSharedBytes);
}

// As the forward, with the roles of input and output swapped.
cudaError_t conv_v3_igemm_tf32_backward_data_f32(const ConvDesc& d, const float* dy, const float* w,
                                                 float* dx) {
  return launch_tiles(conv_igemm_tf32_data_kernel, data_ops(d, dy, w, dx), d.groups, kSharedBytes);
}

// The tf32 tile kernel under v2's split driver.
cudaError_t conv_v3_igemm_tf32_backward_weights_f32(const ConvDesc& d, const float* x,
                                                    const float* dy, float* dw, float* dbias,
                                                    float* workspace) {
  return backward_weights(conv_igemm_tf32_weights_kernel, kSharedBytes, d, x, dy, dw, dbias,
                          workspace);
}

// As v3's forward on bf16.
cudaError_t conv_v4_igemm_bf16_forward_f32(const ConvDesc& d, const float* x, const float* w,
                                           const float* bias, float* y) {
  return launch_tiles(conv_igemm_bf16_forward_kernel, forward_ops(d, x, w, bias, y), d.groups,
                      kSharedBytes);
}

// As v3's backward-data on bf16.
cudaError_t conv_v4_igemm_bf16_backward_data_f32(const ConvDesc& d, const float* dy, const float* w,
                                                 float* dx) {
  return launch_tiles(conv_igemm_bf16_data_kernel, data_ops(d, dy, w, dx), d.groups, kSharedBytes);
}

// As v3's backward-weights on bf16.
cudaError_t conv_v4_igemm_bf16_backward_weights_f32(const ConvDesc& d, const float* x,
                                                    const float* dy, float* dw, float* dbias,
                                                    float* workspace) {
  return backward_weights(conv_igemm_bf16_weights_kernel, kSharedBytes, d, x, dy, dw, dbias,
                          workspace);
}

}  // namespace signet::cuda
