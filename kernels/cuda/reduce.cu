#include "kernels/cuda/reduce.h"

namespace signet::cuda {
namespace {

using kernels::ReduceDesc;

constexpr int kThreads = 256;

// Input offset of the row-major index i over the dims (shape, stride) of count n.
__device__ __forceinline__ int64_t offset_of(int64_t i, int n, const int64_t* shape,
                                             const int64_t* stride) {
  int64_t off = 0;
  for (int k = n - 1; k >= 0; --k) {
    off += (i % shape[k]) * stride[k];
    i /= shape[k];
  }
  return off;
}

// Block b sums output element b: thread t adds elements t, t + kThreads, ... in order, then
// the block halves its partial sums in shared memory until one is left.
__global__ void sum_kernel(ReduceDesc d, int64_t outputs, int64_t count,
                           const float* __restrict__ in, float* __restrict__ out) {
  __shared__ float partial[kThreads];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const int64_t base = offset_of(o, d.nkeep, d.keep_shape, d.keep_in_stride);
    float acc = 0.0f;
    for (int64_t i = threadIdx.x; i < count; i += kThreads)
      acc += in[base + offset_of(i, d.nred, d.red_shape, d.red_in_stride)];
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[offset_of(o, d.nkeep, d.keep_shape, d.keep_out_stride)] = partial[0];
    __syncthreads();
  }
}

}  // namespace

// One block per output element (at most 4096 blocks, looping beyond); an empty reduced space
// writes zeros.
cudaError_t reduce_sum_f32(const ReduceDesc& d, const float* in, float* out) {
  int64_t outputs = 1, count = 1;
  for (int i = 0; i < d.nkeep; ++i) outputs *= d.keep_shape[i];
  for (int i = 0; i < d.nred; ++i) count *= d.red_shape[i];
  if (outputs == 0) return cudaSuccess;
  const int blocks = int(outputs < 4096 ? outputs : 4096);
  launch_kernel(sum_kernel, blocks, kThreads, 0, nullptr, d, outputs, count, in, out);
  return cudaGetLastError();
}

}  // namespace signet::cuda
