#include "kernels/cuda/dropout.h"

#include <cmath>
#include <cstdint>

#include "kernels/common/philox.h"

namespace signet::cuda {
namespace {

using kernels::DropoutDesc;

constexpr int kThreads = 256;

// y = keep ? x * scale : +0 for one element.
__device__ __forceinline__ float masked(float x, uint32_t word, uint32_t threshold, float scale) {
  return (word >> 8) >= threshold ? x * scale : 0.0f;
}

// Per-element masks (group 1): thread j owns Philox block block0 + j, i.e. units 4 (block0 + j)
// .. + 3, makes the block once and applies its four words to the elements among [first, end);
// with vec (first % 4 == 0 and x, y 16-byte aligned) a whole block is one float4 load and store.
__global__ void dropout_elements_kernel(int64_t first, int64_t n, uint64_t seed, uint64_t offset,
                                        uint32_t threshold, float scale, int64_t blocks, bool vec,
                                        const float* __restrict__ x, float* __restrict__ y) {
  const int64_t block0 = first / 4;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < blocks; j += stride) {
    const kernels::Philox4x32 w = kernels::philox_block(seed, offset, uint64_t(block0 + j));
    const int64_t e0 = 4 * (block0 + j) - first;
    if (vec && e0 >= 0 && e0 + 4 <= n) {
      const float4 v = *reinterpret_cast<const float4*>(x + e0);
      *reinterpret_cast<float4*>(y + e0) =
          make_float4(masked(v.x, w.v[0], threshold, scale), masked(v.y, w.v[1], threshold, scale),
                      masked(v.z, w.v[2], threshold, scale), masked(v.w, w.v[3], threshold, scale));
      continue;
    }
    for (int k = 0; k < 4; ++k) {
      const int64_t e = e0 + k;
      if (e >= 0 && e < n) y[e] = masked(x[e], w.v[k], threshold, scale);
    }
  }
}

// Word k (0..3) of a Philox block by selects, not an indexed load: a dynamic index into the
// block's array would put it in local memory.
__device__ __forceinline__ uint32_t word_of(const kernels::Philox4x32& b, uint64_t k) {
  return k == 0 ? b.v[0] : (k == 1 ? b.v[1] : (k == 2 ? b.v[2] : b.v[3]));
}

// Whole-channel masks (group > 1): one thread per element, unit (first + e) / group.
__global__ void dropout_groups_kernel(int64_t first, int64_t n, int64_t group, uint64_t seed,
                                      uint64_t offset, uint32_t threshold, float scale,
                                      const float* __restrict__ x, float* __restrict__ y) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
    const uint64_t unit = uint64_t((first + e) / group);
    const kernels::Philox4x32 b = kernels::philox_block(seed, offset, unit / 4);
    y[e] = masked(x[e], word_of(b, unit % 4), threshold, scale);
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
  const double scaled = std::ceil(d.p * 16777216.0);
  const uint32_t threshold = uint32_t(scaled < 16777216.0 ? scaled : 16777216.0);
  if (d.group == 1) {
    const int64_t blocks = (d.first + d.n - 1) / 4 - d.first / 4 + 1;
    const bool vec = d.first % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                     reinterpret_cast<uintptr_t>(y) % 16 == 0;
    launch_kernel(dropout_elements_kernel, blocks_for(blocks), kThreads, 0, nullptr, d.first, d.n,
                  d.seed, d.offset, threshold, scale, blocks, vec, x, y);
  } else {
    launch_kernel(dropout_groups_kernel, blocks_for(d.n), kThreads, 0, nullptr, d.first, d.n,
                  d.group, d.seed, d.offset, threshold, scale, x, y);
  }
  return cudaGetLastError();
}

}  // namespace signet::cuda
