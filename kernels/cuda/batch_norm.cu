#include "kernels/cuda/batch_norm.h"

#include <cmath>

#include "kernels/common/welford.h"

namespace signet::cuda {
namespace {

using kernels::BatchNormDesc;
using kernels::Welford;

constexpr int kThreads = 512;

// Calls fn(offset) for this thread's share of channel ch in a fixed order: row by row (batch
// items), elements threadIdx.x, + kThreads, ... of each row (no division per element); when the
// rows are shorter than the block, over the flattened channel instead, so no thread idles.
template <class Fn>
__device__ __forceinline__ void for_channel(const BatchNormDesc& d, int64_t ch, Fn fn) {
  if (d.inner >= kThreads) {
    for (int64_t b = 0; b < d.n; ++b) {
      const int64_t row = (b * d.c + ch) * d.inner;
      for (int64_t i = threadIdx.x; i < d.inner; i += kThreads) fn(row + i);
    }
  } else {
    for (int64_t j = threadIdx.x; j < d.n * d.inner; j += kThreads)
      fn((j / d.inner * d.c + ch) * d.inner + j % d.inner);
  }
}

// Block b handles channels b, b + gridDim.x, ...: each thread pushes its share of the channel
// into a Welford state; the block merges them pairwise (fixed tree), thread 0 writes the
// statistics, and the block normalises the channel.
__global__ void batch_norm_train_kernel(BatchNormDesc d, const float* __restrict__ x,
                                        const float* __restrict__ weight,
                                        const float* __restrict__ bias, float* __restrict__ y,
                                        float* __restrict__ mean, float* __restrict__ var,
                                        float* __restrict__ invstd) {
  __shared__ int64_t s_count[kThreads];
  __shared__ float s_mean[kThreads], s_m2[kThreads];
  __shared__ float s_scale, s_shift, s_center;
  const int64_t count = d.n * d.inner;
  for (int64_t ch = blockIdx.x; ch < d.c; ch += gridDim.x) {
    Welford w{0, 0.0f, 0.0f};
    for_channel(d, ch, [&](int64_t e) { kernels::welford_push(w, x[e]); });
    s_count[threadIdx.x] = w.count;
    s_mean[threadIdx.x] = w.mean;
    s_m2[threadIdx.x] = w.m2;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      if (int(threadIdx.x) < half) {
        Welford a{s_count[threadIdx.x], s_mean[threadIdx.x], s_m2[threadIdx.x]};
        const int o = threadIdx.x + half;
        kernels::welford_merge(a, Welford{s_count[o], s_mean[o], s_m2[o]});
        s_count[threadIdx.x] = a.count;
        s_mean[threadIdx.x] = a.mean;
        s_m2[threadIdx.x] = a.m2;
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      const float v = s_m2[0] / float(count);
      const float is = float(1.0 / sqrt(double(v) + d.eps));
      mean[ch] = s_mean[0];
      var[ch] = v;
      invstd[ch] = is;
      s_center = s_mean[0];
      s_scale = is * (weight ? weight[ch] : 1.0f);
      s_shift = bias ? bias[ch] : 0.0f;
    }
    __syncthreads();
    const float center = s_center, scale = s_scale, shift = s_shift;
    for_channel(d, ch, [&](int64_t e) { y[e] = (x[e] - center) * scale + shift; });
    __syncthreads();
  }
}

// Row r = (b, ch) of x per grid y index (grid-stride), elements of the row over grid x:
// y = (x - mean[ch]) / sqrt(var[ch] + eps) * weight[ch] + bias[ch].
__global__ void batch_norm_eval_kernel(BatchNormDesc d, const float* __restrict__ x,
                                       const float* __restrict__ mean,
                                       const float* __restrict__ var,
                                       const float* __restrict__ weight,
                                       const float* __restrict__ bias, float* __restrict__ y) {
  const float eps = float(d.eps);
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = blockIdx.y; r < d.n * d.c; r += gridDim.y) {
    const int64_t ch = r % d.c;
    const float scale = (weight ? weight[ch] : 1.0f) / sqrtf(var[ch] + eps);
    const float center = mean[ch], shift = bias ? bias[ch] : 0.0f;
    const float* xr = x + r * d.inner;
    float* yr = y + r * d.inner;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < d.inner; i += step)
      yr[i] = (xr[i] - center) * scale + shift;
  }
}

// Block per channel as batch_norm_train_kernel: pass 1 sums dy and dy (x - mean) per thread and
// in a fixed tree; thread 0 writes dweight and dbias; pass 2 writes dx.
__global__ void batch_norm_backward_kernel(BatchNormDesc d, const float* __restrict__ x,
                                           const float* __restrict__ dy,
                                           const float* __restrict__ mean,
                                           const float* __restrict__ invstd,
                                           const float* __restrict__ weight, bool training,
                                           float* __restrict__ dx, float* __restrict__ dweight,
                                           float* __restrict__ dbias) {
  __shared__ float s_dy[kThreads], s_dyx[kThreads];
  const int64_t count = d.n * d.inner;
  for (int64_t ch = blockIdx.x; ch < d.c; ch += gridDim.x) {
    const float m = mean[ch], is = invstd[ch];
    float sdy = 0.0f, sdyx = 0.0f;
    for_channel(d, ch, [&](int64_t e) {
      const float g = dy[e];
      sdy += g;
      sdyx = fmaf(g, x[e] - m, sdyx);
    });
    s_dy[threadIdx.x] = sdy;
    s_dyx[threadIdx.x] = sdyx;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      if (int(threadIdx.x) < half) {
        s_dy[threadIdx.x] += s_dy[threadIdx.x + half];
        s_dyx[threadIdx.x] += s_dyx[threadIdx.x + half];
      }
      __syncthreads();
    }
    const float total_dy = s_dy[0], total_dyxhat = s_dyx[0] * is;
    if (threadIdx.x == 0) {
      if (dweight) dweight[ch] = total_dyxhat;
      if (dbias) dbias[ch] = total_dy;
    }
    if (dx) {
      const float wis = (weight ? weight[ch] : 1.0f) * is;
      const float mdy = total_dy / float(count), k = is * total_dyxhat / float(count);
      if (training)
        for_channel(d, ch, [&](int64_t e) { dx[e] = wis * (dy[e] - mdy - (x[e] - m) * k); });
      else
        for_channel(d, ch, [&](int64_t e) { dx[e] = wis * dy[e]; });
    }
    __syncthreads();
  }
}

// Blocks for a block-per-channel kernel: one per channel, at most 65535 (grid-stride beyond).
int channel_blocks(int64_t c) {
  return int(c < 65535 ? c : 65535);
}

}  // namespace

// One block per channel.
cudaError_t batch_norm_forward_train_f32(const BatchNormDesc& d, const float* x,
                                         const float* weight, const float* bias, float* y,
                                         float* mean, float* var, float* invstd) {
  if (d.c == 0) return cudaSuccess;
  launch_kernel(batch_norm_train_kernel, channel_blocks(d.c), kThreads, 0, nullptr, d, x, weight,
                bias, y, mean, var, invstd);
  return cudaGetLastError();
}

// 256 threads a block; grid x covers a row (at most 64 blocks), grid y the rows (at most 65535).
cudaError_t batch_norm_forward_eval_f32(const BatchNormDesc& d, const float* x, const float* mean,
                                        const float* var, const float* weight, const float* bias,
                                        float* y) {
  const int64_t rows = d.n * d.c;
  if (rows == 0 || d.inner == 0) return cudaSuccess;
  const int64_t per_row = (d.inner + 255) / 256;
  const dim3 grid(unsigned(per_row < 64 ? per_row : 64), unsigned(rows < 65535 ? rows : 65535));
  launch_kernel(batch_norm_eval_kernel, grid, 256, 0, nullptr, d, x, mean, var, weight, bias, y);
  return cudaGetLastError();
}

// One block per channel.
cudaError_t batch_norm_backward_f32(const BatchNormDesc& d, const float* x, const float* dy,
                                    const float* mean, const float* invstd, const float* weight,
                                    bool training, float* dx, float* dweight, float* dbias) {
  if (d.c == 0) return cudaSuccess;
  launch_kernel(batch_norm_backward_kernel, channel_blocks(d.c), kThreads, 0, nullptr, d, x, dy,
                mean, invstd, weight, training, dx, dweight, dbias);
  return cudaGetLastError();
}

}  // namespace signet::cuda
