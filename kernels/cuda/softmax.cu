#include "kernels/cuda/softmax.h"
#include "kernels/cuda/stream.h"

#include <cmath>

namespace signet::cuda {
namespace {

using kernels::SoftmaxDesc;

constexpr int kThreads = 128;

// The block-wide sum (or max when take_max) of every thread's v, by halving in shared memory;
// every thread gets the result.
__device__ float block_reduce(float* shared, float v, bool take_max) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) {
      const float other = shared[threadIdx.x + half];
      shared[threadIdx.x] =
          take_max ? fmaxf(shared[threadIdx.x], other) : shared[threadIdx.x] + other;
    }
    __syncthreads();
  }
  const float out = shared[0];
  __syncthreads();
  return out;
}

// Row r = (o, i) holds elements base + j * inner, j < dim; blocks stride over the rows.
__global__ void softmax_forward_kernel(SoftmaxDesc d, bool log, const float* __restrict__ x,
                                       float* __restrict__ y) {
  __shared__ float shared[kThreads];
  const int64_t rows = d.outer * d.inner;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = (r / d.inner) * d.dim * d.inner + r % d.inner;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < d.dim; j += kThreads) m = fmaxf(m, x[base + j * d.inner]);
    m = block_reduce(shared, m, true);
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < d.dim; j += kThreads) s += expf(x[base + j * d.inner] - m);
    s = block_reduce(shared, s, false);
    const float log_s = logf(s);
    for (int64_t j = threadIdx.x; j < d.dim; j += kThreads) {
      const float shifted = x[base + j * d.inner] - m;
      y[base + j * d.inner] = log ? shifted - log_s : expf(shifted) / s;
    }
  }
}

// softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy).
__global__ void softmax_backward_kernel(SoftmaxDesc d, bool log, const float* __restrict__ y,
                                        const float* __restrict__ dy, float* __restrict__ dx) {
  __shared__ float shared[kThreads];
  const int64_t rows = d.outer * d.inner;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = (r / d.inner) * d.dim * d.inner + r % d.inner;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < d.dim; j += kThreads) {
      const int64_t k = base + j * d.inner;
      s += log ? dy[k] : dy[k] * y[k];
    }
    s = block_reduce(shared, s, false);
    for (int64_t j = threadIdx.x; j < d.dim; j += kThreads) {
      const int64_t k = base + j * d.inner;
      dx[k] = log ? dy[k] - expf(y[k]) * s : y[k] * (dy[k] - s);
    }
  }
}

// Blocks for the rows of d: one each, at most 4096.
int blocks_for(const SoftmaxDesc& d) {
  const int64_t rows = d.outer * d.inner;
  return int(rows < 4096 ? rows : 4096);
}

}  // namespace

// An empty tensor launches nothing.
cudaError_t softmax_forward_f32(const SoftmaxDesc& d, const float* x, float* y, bool log) {
  if (d.outer * d.inner == 0 || d.dim == 0) return cudaSuccess;
  launch_kernel(softmax_forward_kernel, blocks_for(d), kThreads, 0, current_stream(), d, log, x, y);
  return cudaGetLastError();
}

// An empty tensor launches nothing.
cudaError_t softmax_backward_f32(const SoftmaxDesc& d, const float* y, const float* dy, float* dx,
                                 bool log) {
  if (d.outer * d.inner == 0 || d.dim == 0) return cudaSuccess;
  launch_kernel(softmax_backward_kernel, blocks_for(d), kThreads, 0, current_stream(), d, log, y,
                dy, dx);
  return cudaGetLastError();
}

}  // namespace signet::cuda
