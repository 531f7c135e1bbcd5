#include "kernels/cuda/optim.h"

#include <cmath>

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

// ref::sgd_step per element; scalars arrive rounded to f32 as the reference rounds them.
__global__ void sgd_kernel(SgdDesc d, float lr, float wd, float mom, float damp,
                           float* __restrict__ param, const float* __restrict__ grad,
                           float* __restrict__ buf) {
  for (int64_t i = first_index(); i < d.n; i += grid_stride()) {
    float g = grad[i];
    if (d.weight_decay != 0) g = g + wd * param[i];
    if (d.momentum != 0) {
      buf[i] = d.first_step ? g : buf[i] * mom + damp * g;
      g = d.nesterov ? g + mom * buf[i] : buf[i];
    }
    param[i] = param[i] - lr * g;
  }
}

// ref::adam_step per element.
__global__ void adam_kernel(AdamDesc d, float b1, float b2, float one_b1, float one_b2, float wd,
                            float decay, float eps, float step_size, float bc2,
                            float* __restrict__ param, const float* __restrict__ grad,
                            float* __restrict__ m, float* __restrict__ v,
                            float* __restrict__ vmax) {
  for (int64_t i = first_index(); i < d.n; i += grid_stride()) {
    float g = grad[i];
    float p = param[i];
    if (d.decoupled)
      p = p * decay;
    else if (d.weight_decay != 0)
      g = g + wd * p;
    m[i] = m[i] * b1 + one_b1 * g;
    v[i] = v[i] * b2 + one_b2 * g * g;
    float second = v[i];
    if (d.amsgrad) {
      vmax[i] = fmaxf(vmax[i], v[i]);
      second = vmax[i];
    }
    const float denom = sqrtf(second) / bc2 + eps;
    param[i] = p - step_size * (m[i] / denom);
  }
}

// ref::rmsprop_step per element.
__global__ void rmsprop_kernel(RmspropDesc d, float alpha, float one_alpha, float wd, float eps,
                               float lr, float mom, float* __restrict__ param,
                               const float* __restrict__ grad, float* __restrict__ square_avg,
                               float* __restrict__ grad_avg, float* __restrict__ buf) {
  for (int64_t i = first_index(); i < d.n; i += grid_stride()) {
    float g = grad[i];
    if (d.weight_decay != 0) g = g + wd * param[i];
    square_avg[i] = square_avg[i] * alpha + one_alpha * g * g;
    float avg;
    if (d.centered) {
      grad_avg[i] = grad_avg[i] * alpha + one_alpha * g;
      avg = sqrtf(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps;
    } else {
      avg = sqrtf(square_avg[i]) + eps;
    }
    if (d.momentum > 0) {
      buf[i] = buf[i] * mom + g / avg;
      param[i] = param[i] - lr * buf[i];
    } else {
      param[i] = param[i] - lr * (g / avg);
    }
  }
}

// Blocks for n elements: one per kThreads, at most 4096 (grid-stride beyond).
int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return int(wanted < 4096 ? wanted : 4096);
}

}  // namespace

// An empty parameter launches nothing.
cudaError_t sgd_step_f32(const SgdDesc& d, float* param, const float* grad, float* buf) {
  if (d.n == 0) return cudaSuccess;
  launch_kernel(sgd_kernel, blocks_for(d.n), kThreads, 0, nullptr, d, float(d.lr),
                float(d.weight_decay), float(d.momentum), float(1 - d.dampening), param, grad, buf);
  return cudaGetLastError();
}

// An empty parameter launches nothing.
cudaError_t adam_step_f32(const AdamDesc& d, float* param, const float* grad, float* m, float* v,
                          float* vmax) {
  if (d.n == 0) return cudaSuccess;
  launch_kernel(adam_kernel, blocks_for(d.n), kThreads, 0, nullptr, d, float(d.beta1),
                float(d.beta2), float(1 - d.beta1), float(1 - d.beta2), float(d.weight_decay),
                float(1 - d.lr * d.weight_decay), float(d.eps), float(d.step_size),
                float(d.bias_correction2_sqrt), param, grad, m, v, vmax);
  return cudaGetLastError();
}

// An empty parameter launches nothing.
cudaError_t rmsprop_step_f32(const RmspropDesc& d, float* param, const float* grad,
                             float* square_avg, float* grad_avg, float* buf) {
  if (d.n == 0) return cudaSuccess;
  launch_kernel(rmsprop_kernel, blocks_for(d.n), kThreads, 0, nullptr, d, float(d.alpha),
                float(1 - d.alpha), float(d.weight_decay), float(d.eps), float(d.lr),
                float(d.momentum), param, grad, square_avg, grad_avg, buf);
  return cudaGetLastError();
}

}  // namespace signet::cuda
