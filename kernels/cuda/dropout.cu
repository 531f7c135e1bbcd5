#include "kernels/cuda/dropout.h"

#include <cstdint>

#include "kernels/common/dropout_desc.h"
#include "kernels/common/philox.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::DropoutDesc;

constexpr int kThreads = 256;

// y = keep ? x * scale : +0 for one element with 16-bit half-word h.
__device__ __forceinline__ float masked(float x, uint32_t h, uint32_t threshold, float scale) {
  return h >= threshold ? x * scale : 0.0f;
}

// The four elements of v masked by half-words 4 q .. 4 q + 3 (q = 0, 1) of Philox block w.
__device__ __forceinline__ float4 masked4(float4 v, const kernels::Philox4x32& w, int q,
                                          uint32_t threshold, float scale) {
  return make_float4(masked(v.x, kernels::dropout_halfword(w, 4 * q), threshold, scale),
                     masked(v.y, kernels::dropout_halfword(w, 4 * q + 1), threshold, scale),
                     masked(v.z, kernels::dropout_halfword(w, 4 * q + 2), threshold, scale),
                     masked(v.w, kernels::dropout_halfword(w, 4 * q + 3), threshold, scale));
}

// Per-element masks (group 1): thread j owns Philox block block0 + j, i.e. units
// 8 (block0 + j) .. + 7, makes the block once and applies its eight half-words to the elements
// among [first, end); with vec (first % 8 == 0 and x, y 16-byte aligned) a whole block is two
// float4 loads and stores.
__global__ void dropout_elements_kernel(int64_t first, int64_t n, uint64_t seed, uint64_t offset,
                                        uint32_t threshold, float scale, int64_t blocks, bool vec,
                                        const float* __restrict__ x, float* __restrict__ y) {
  const int64_t block0 = first / 8;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < blocks; j += stride) {
    const kernels::Philox4x32 w = kernels::philox_block(seed, offset, uint64_t(block0 + j));
    const int64_t e0 = 8 * (block0 + j) - first;
    if (vec && e0 >= 0 && e0 + 8 <= n) {
      const float4 a = *reinterpret_cast<const float4*>(x + e0);
      const float4 b = *reinterpret_cast<const float4*>(x + e0 + 4);
      *reinterpret_cast<float4*>(y + e0) = masked4(a, w, 0, threshold, scale);
      *reinterpret_cast<float4*>(y + e0 + 4) = masked4(b, w, 1, threshold, scale);
      continue;
    }
    for (int k = 0; k < 8; ++k) {
      const int64_t e = e0 + k;
      if (e >= 0 && e < n) y[e] = masked(x[e], kernels::dropout_halfword(w, k), threshold, scale);
    }
  }
}

// Whole-channel masks (group > 1): one thread per element, unit (first + e) / group, its
// half-word from word unit / 2 of the stream.
__global__ void dropout_groups_kernel(int64_t first, int64_t n, int64_t group, uint64_t seed,
                                      uint64_t offset, uint32_t threshold, float scale,
                                      const float* __restrict__ x, float* __restrict__ y) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
    const uint64_t unit = uint64_t((first + e) / group);
    y[e] = masked(x[e], kernels::dropout_halfword(seed, offset, unit), threshold, scale);
  }
}

// Blocks for `work` items: one per kThreads, at most 8192 (the grid-stride loops do the rest).
int blocks_for(int64_t work) {
  const int64_t wanted = (work + kThreads - 1) / kThreads;
  return int(wanted < 8192 ? wanted : 8192);
}

}  // namespace

// The keep threshold and scale as the CPU kernels compute them, then one of the two kernels.
cudaError_t dropout_forward_f32(const DropoutDesc& d, const float* x, float* y) {
  if (d.n <= 0) return cudaSuccess;
  const float scale = d.p < 1 ? float(1.0 / (1.0 - d.p)) : 0.0f;
  const uint32_t threshold = kernels::dropout_threshold(d.p);
  if (d.group == 1) {
    const int64_t blocks = (d.first + d.n - 1) / 8 - d.first / 8 + 1;
    const bool vec = d.first % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                     reinterpret_cast<uintptr_t>(y) % 16 == 0;
    launch_kernel(dropout_elements_kernel, blocks_for(blocks), kThreads, 0, current_stream(),
                  d.first, d.n, d.seed, d.offset, threshold, scale, blocks, vec, x, y);
  } else {
    launch_kernel(dropout_groups_kernel, blocks_for(d.n), kThreads, 0, current_stream(), d.first,
                  d.n, d.group, d.seed, d.offset, threshold, scale, x, y);
  }
  return cudaGetLastError();
}

}  // namespace signet::cuda
