#include "kernels/cuda/conv_igemm.h"

#include "kernels/cuda/conv_igemm_ops.h"
#include "kernels/cuda/conv_igemm_tile.h"
#include "kernels/cuda/gemm_register_tile.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::ConvDesc;

using namespace igemm;
using register_tile::kRows;
using register_tile::kThreads;
constexpr int64_t kCols = register_tile::kCols;
static_assert(kRows == kTile && kCols == kTile && kThreads == kTileThreads,
              "launch_tiles launches the tile this file computes");

// ---- v2: implicit GEMM. Changes from v1 (conv_naive.cu): the 128x128x8 register tiling of GEMM
// v3 (gemm_register_tile.h) with both operands gathered into shared memory slice by slice, so
// each input value is fetched once per tile instead of once per output; should gain ~5-10x over
// v1.
// Backward-weights: blocks wanted in flight, and the least reduction length one split gets.
constexpr int64_t kWantedBlocks = 256, kMinSplitDepth = 1024;
// Splits cover multiples of the tensor-core slice (16), so every version shares one split.
constexpr int64_t kChunkMultiple = 16;

// One 128x128 output tile of group g over reduction indices [r_begin, r_end): A rows by 128..,
// B columns bx*128..; thread t owns GEMM v3's 8x8 split (rows ty*4.. and 64+ty*4.., columns
// likewise with tx); the results go to ops.store.
template <class Ops>
__device__ __forceinline__ void igemm_tile(const Ops& ops, float* smem, int64_t g, int64_t split,
                                           int64_t r_begin, int64_t r_end) {
  const int tid = int(threadIdx.x), tx = tid % 16, ty = tid / 16;
  const int64_t row0 = int64_t(blockIdx.y) * kRows, col0 = int64_t(blockIdx.x) * kCols;
  float acc[8][8];
  accumulate_tile(ops, ops.s, smem, g, r_begin, r_end, acc);
  register_tile::store_tile(acc, row0, col0, ops.s.rows, ops.s.cols, tx, ty,
                            [&](int64_t f, int64_t p, float v) { ops.store(g, split, f, p, v); });
}

// Forward: block (column tile, filter tile, group).
__global__ void __launch_bounds__(kThreads) conv_igemm_forward_kernel(ForwardOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_tile(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// Backward-data: block (input-column tile, channel tile, group).
__global__ void __launch_bounds__(kThreads) conv_igemm_data_kernel(DataOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_tile(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// Backward-weights: block (tap-column tile, filter tile, group + groups * split); split covers
// reduction indices [split*chunk, (split+1)*chunk).
__global__ void __launch_bounds__(kThreads, 1)
    conv_igemm_weights_kernel(WeightsOps ops, int64_t chunk) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  const int64_t g = blockIdx.z % ops.d.groups, split = blockIdx.z / ops.d.groups;
  const int64_t begin = split * chunk, end = begin + chunk;
  igemm_tile(ops, smem, g, split, begin, end < ops.s.depth ? end : ops.s.depth);
}

// dw[e] = the sum of the splits' partials of element e, in split order (deterministic).
__global__ void conv_igemm_weights_reduce_kernel(const float* __restrict__ ws, int64_t splits,
                                                 int64_t total, float* __restrict__ dw) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    float acc = 0.0f;
    for (int64_t sp = 0; sp < splits; ++sp) acc += ws[sp * total + e];
    dw[e] = acc;
  }
}

// dbias[k] = the sum of dy[:, k, :]: one block per filter, strided partial sums then a fixed tree.
__global__ void __launch_bounds__(kThreads, 1)
    conv_igemm_bias_kernel(ConvDesc d, int64_t out_volume, const float* __restrict__ dy,
                           float* __restrict__ dbias) {
  __shared__ float partial[kThreads];
  const int64_t k = blockIdx.x, total = d.n * out_volume;
  float acc = 0.0f;
  for (int64_t e = threadIdx.x; e < total; e += kThreads)
    acc += dy[(e / out_volume * d.k + k) * out_volume + e % out_volume];
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) dbias[k] = partial[0];
}

// Blocks for a grid-stride loop over `work` items (at most 8192).
unsigned blocks_for(int64_t work) {
  const int64_t wanted = (work + kThreads - 1) / kThreads;
  return unsigned(wanted < 8192 ? wanted : 8192);
}

// The reduction length each backward-weights split covers (a multiple of kChunkMultiple).
int64_t weights_chunk(const ConvDesc& d) {
  const ConvSizes z = sizes_of(d);
  const int64_t depth = d.n * z.out_volume;
  const int64_t tiles =
      d.groups * ((z.kg + kRows - 1) / kRows) * ((z.cg * z.taps + kCols - 1) / kCols);
  int64_t splits = (kWantedBlocks + tiles - 1) / tiles;
  if (splits > depth / kMinSplitDepth) splits = depth / kMinSplitDepth;
  if (splits < 1) splits = 1;
  const int64_t chunk = (depth + splits - 1) / splits;
  return (chunk + kChunkMultiple - 1) / kChunkMultiple * kChunkMultiple;
}

}  // namespace

namespace igemm {

// Backward-weights' driver: empty and zero-depth cases, the workspace check, the split tile
// kernel, the fixed-order reduction, dbias.
cudaError_t backward_weights(WeightsKernel kernel, size_t shmem, const ConvDesc& d, const float* x,
                             const float* dy, float* dw, float* dbias, float* workspace) {
  const ConvSizes z = sizes_of(d);
  const IgemmShape s{z.kg, z.cg * z.taps, d.n * z.out_volume};
  const int64_t splits = conv_igemm_weights_splits(d), total = d.k * s.cols;
  if (total == 0) return cudaSuccess;
  if (splits > 1 && !workspace) return cudaErrorInvalidValue;
  if (s.depth == 0) {  // no output positions: the gradients are zero
    cudaError_t status = cudaMemsetAsync(dw, 0, size_t(total) * sizeof(float), current_stream());
    if (status == cudaSuccess && dbias)
      status = cudaMemsetAsync(dbias, 0, size_t(d.k) * sizeof(float), current_stream());
    return status;
  }
  cudaError_t status = launch_tiles(kernel, WeightsOps{d, z, s, x, dy, splits > 1 ? workspace : dw},
                                    d.groups * splits, shmem, weights_chunk(d));
  if (status == cudaSuccess && splits > 1) {
    launch_kernel(conv_igemm_weights_reduce_kernel, dim3(blocks_for(total)), dim3(kThreads), 0,
                  current_stream(), static_cast<const float*>(workspace), splits, total, dw);
    status = cudaGetLastError();
  }
  if (status != cudaSuccess || !dbias) return status;
  if (d.k > 0x7fffffff) return cudaErrorInvalidConfiguration;
  launch_kernel(conv_igemm_bias_kernel, dim3(unsigned(d.k)), dim3(kThreads), 0, current_stream(), d,
                z.out_volume, dy, dbias);
  return cudaGetLastError();
}

}  // namespace igemm

// 256 threads and 8 KiB of shared memory a block, one grid z per group (at most 65535).
cudaError_t conv_v2_igemm_forward_f32(const ConvDesc& d, const float* x, const float* w,
                                      const float* bias, float* y) {
  return launch_tiles(conv_igemm_forward_kernel, forward_ops(d, x, w, bias, y), d.groups,
                      size_t(register_tile::kSharedFloats) * sizeof(float));
}

// As forward, with the roles of input and output swapped.
cudaError_t conv_v2_igemm_backward_data_f32(const ConvDesc& d, const float* dy, const float* w,
                                            float* dx) {
  return launch_tiles(conv_igemm_data_kernel, data_ops(d, dy, w, dx), d.groups,
                      size_t(register_tile::kSharedFloats) * sizeof(float));
}

// ceil(N*outvol / chunk) splits.
int64_t conv_igemm_weights_splits(const ConvDesc& d) {
  const int64_t depth = d.n * kernels::conv_out_volume(d);
  if (depth == 0) return 1;
  const int64_t chunk = weights_chunk(d);
  return (depth + chunk - 1) / chunk;
}

// One fp32 partial dW per split when there is more than one split.
size_t conv_igemm_workspace_bytes(const ConvDesc& d) {
  const int64_t splits = conv_igemm_weights_splits(d);
  if (splits == 1) return 0;
  return size_t(splits) * size_t(d.k * (d.c / d.groups) * kernels::conv_kernel_volume(d)) *
         sizeof(float);
}

// The register-tile kernel under backward_weights' driver.
cudaError_t conv_v2_igemm_backward_weights_f32(const ConvDesc& d, const float* x, const float* dy,
                                               float* dw, float* dbias, float* workspace) {
  return backward_weights(conv_igemm_weights_kernel,
                          size_t(register_tile::kSharedFloats) * sizeof(float), d, x, dy, dw, dbias,
                          workspace);
}

}  // namespace signet::cuda
