// Fixed-tree block sums shared by the normalisation kernels (batch_norm.cu, layer_norm.cu): the
// same tree on every launch and no atomics, so results repeat bit for bit.
#pragma once
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Sums a and b over a block of Threads threads (a power of two) in a fixed tree, through the
// Threads-float scratch arrays s_a and s_b; every thread gets the totals. Ends with a barrier, so
// the scratch may be reused at once.
template <int Threads>
__device__ __forceinline__ void block_sum2(float* s_a, float* s_b, float& a, float& b) {
  s_a[threadIdx.x] = a;
  s_b[threadIdx.x] = b;
  __syncthreads();
  for (int half = Threads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) {
      s_a[threadIdx.x] += s_a[threadIdx.x + half];
      s_b[threadIdx.x] += s_b[threadIdx.x + half];
    }
    __syncthreads();
  }
  a = s_a[0];
  b = s_b[0];
  __syncthreads();
}

}  // namespace signet::cuda
