#include "kernels/cuda/optim.h"

#include "kernels/common/optim_update.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::AdamDesc;
using kernels::RmspropDesc;
using kernels::SgdDesc;

constexpr int kThreads = 256;

// The first element index of this thread and the grid-stride.
__device__ __forceinline__ int64_t first_index() {
  return int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return int64_t(gridDim.x) * blockDim.x;
}

// kernels::sgd_update per element, grid-stride.
__global__ void sgd_kernel(SgdDesc d, kernels::SgdScalars<float> s, float* __restrict__ param,
                           const float* __restrict__ grad, float* __restrict__ buf) {
  for (int64_t i = first_index(); i < d.n; i += grid_stride())
    kernels::sgd_update(d, s, i, param, grad, buf);
}

// kernels::adam_update per element, grid-stride.
__global__ void adam_kernel(AdamDesc d, kernels::AdamScalars<float> s, float* __restrict__ param,
                            const float* __restrict__ grad, float* __restrict__ m,
                            float* __restrict__ v, float* __restrict__ vmax) {
  for (int64_t i = first_index(); i < d.n; i += grid_stride())
    kernels::adam_update(d, s, i, param, grad, m, v, vmax);
}

// kernels::rmsprop_update per element, grid-stride.
__global__ void rmsprop_kernel(RmspropDesc d, kernels::RmspropScalars<float> s,
                               float* __restrict__ param, const float* __restrict__ grad,
                               float* __restrict__ square_avg, float* __restrict__ grad_avg,
                               float* __restrict__ buf) {
  for (int64_t i = first_index(); i < d.n; i += grid_stride())
    kernels::rmsprop_update(d, s, i, param, grad, square_avg, grad_avg, buf);
}

// Blocks for n elements: one per kThreads, at most 4096 (grid-stride beyond).
int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return int(wanted < 4096 ? wanted : 4096);
}

}  // namespace

// An empty parameter launches nothing; the scalars are rounded to f32 on the host.
cudaError_t sgd_step_f32(const SgdDesc& d, float* param, const float* grad, float* buf) {
  if (d.n == 0) return cudaSuccess;
  launch_kernel(sgd_kernel, blocks_for(d.n), kThreads, 0, current_stream(), d,
                kernels::sgd_scalars<float>(d), param, grad, buf);
  return cudaGetLastError();
}

// An empty parameter launches nothing; the scalars are rounded to f32 on the host.
cudaError_t adam_step_f32(const AdamDesc& d, float* param, const float* grad, float* m, float* v,
                          float* vmax) {
  if (d.n == 0) return cudaSuccess;
  launch_kernel(adam_kernel, blocks_for(d.n), kThreads, 0, current_stream(), d,
                kernels::adam_scalars<float>(d), param, grad, m, v, vmax);
  return cudaGetLastError();
}

// An empty parameter launches nothing; the scalars are rounded to f32 on the host.
cudaError_t rmsprop_step_f32(const RmspropDesc& d, float* param, const float* grad,
                             float* square_avg, float* grad_avg, float* buf) {
  if (d.n == 0) return cudaSuccess;
  launch_kernel(rmsprop_kernel, blocks_for(d.n), kThreads, 0, current_stream(), d,
                kernels::rmsprop_scalars<float>(d), param, grad, square_avg, grad_avg, buf);
  return cudaGetLastError();
}

}  // namespace signet::cuda
