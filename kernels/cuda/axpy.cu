#include "kernels/cuda/axpy.h"

namespace signet::cuda {
namespace {

// Grid-stride loop: any n runs with a bounded grid.
__global__ void axpy_kernel(int64_t n, float alpha, const float* __restrict__ x,
                            float* __restrict__ y) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = fmaf(alpha, x[i], y[i]);
}

}  // namespace

// 256 threads a block, at most 4096 blocks; launch errors surface at the next sync.
void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (n <= 0) return;
  constexpr int threads = 256;
  const int64_t wanted = (n + threads - 1) / threads;
  const int blocks = int(wanted < 4096 ? wanted : 4096);
  launch_kernel(axpy_kernel, blocks, threads, 0, stream, n, alpha, x, y);
}

}  // namespace signet::cuda
