#include "kernels/cuda/clip.h"
#include "kernels/cuda/stream.h"

#include <cfloat>
#include <cmath>

namespace signet::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxPartials = 64;
constexpr int64_t kPerBlock = 16 * kThreads;

// The block-wide sum of every thread's v by halving in shared memory; thread 0 gets it.
__device__ double block_sum(double* shared, double v) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  return shared[0];
}

// Block b sums the squares of elements b * kThreads + t + k * gridDim.x * kThreads.
__global__ void partial_sumsq_kernel(const float* __restrict__ g, int64_t n,
                                     double* __restrict__ partials) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  const int64_t stride = int64_t(gridDim.x) * kThreads;
  for (int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    const double x = g[i];
    acc += x * x;
  }
  const double total = block_sum(shared, acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// One block: the total, its square root and the clipping scale.
__global__ void norm_scale_kernel(const double* __restrict__ partials, int64_t count,
                                  double max_norm, double* __restrict__ out) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += kThreads) acc += partials[i];
  const double total = block_sum(shared, acc);
  if (threadIdx.x == 0) {
    const double norm = sqrt(total);
    const double coef = max_norm / (norm + 1e-6);
    out[0] = norm;
    const bool finite = norm <= DBL_MAX;  // false for NaN and infinity
    out[1] = finite && coef < 1.0 ? coef : 1.0;
  }
}

// g[i] *= float(scale[0]).
__global__ void scale_kernel(float* __restrict__ g, int64_t n, const double* __restrict__ scale) {
  const float s = float(scale[0]);
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    g[i] = g[i] * s;
}

}  // namespace

int clip_partial_count(int64_t n) {
  const int64_t wanted = (n + kPerBlock - 1) / kPerBlock;
  return int(wanted < 1 ? 1 : wanted < kMaxPartials ? wanted : kMaxPartials);
}

// An empty gradient still writes its one slot (0).
cudaError_t clip_partial_sumsq_f32(const float* g, int64_t n, double* partials) {
  launch_kernel(partial_sumsq_kernel, clip_partial_count(n), kThreads, 0, current_stream(), g, n,
                partials);
  return cudaGetLastError();
}

cudaError_t clip_norm_scale(const double* partials, int64_t count, double max_norm, double* out) {
  launch_kernel(norm_scale_kernel, 1, kThreads, 0, current_stream(), partials, count, max_norm,
                out);
  return cudaGetLastError();
}

// An empty gradient launches nothing.
cudaError_t clip_scale_f32(float* g, int64_t n, const double* scale) {
  if (n == 0) return cudaSuccess;
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  launch_kernel(scale_kernel, int(wanted < 4096 ? wanted : 4096), kThreads, 0, current_stream(), g,
                n, scale);
  return cudaGetLastError();
}

}  // namespace signet::cuda
