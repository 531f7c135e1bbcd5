#include "kernels/cuda/batch_norm.h"

#include <cmath>

#include "kernels/common/welford.h"
#include "kernels/cuda/block_sum.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::BatchNormDesc;
using kernels::Welford;

constexpr int kThreads = 512;
constexpr int64_t kSplitElements = 16384;  // v2: a channel gets a block per this many elements
constexpr int64_t kMaxSplits = 64;         // v2: blocks per channel, at most

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

// Merges the threads' Welford states pairwise in a fixed tree; the block's state ends in
// s_count[0], s_mean[0], s_m2[0] (read after the call, which ends with a barrier).
__device__ __forceinline__ void block_welford(const Welford& w, int64_t* s_count, float* s_mean,
                                              float* s_m2) {
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
    block_welford(w, s_count, s_mean, s_m2);
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

// v2: the elements of one channel, flattened over (batch, inner), cut into splits equal slices.
struct Slice {
  int64_t begin, end;
};
__device__ __forceinline__ Slice slice_of(const BatchNormDesc& d, int64_t split, int64_t splits) {
  const int64_t count = d.n * d.inner, chunk = (count + splits - 1) / splits;
  const int64_t begin = split * chunk < count ? split * chunk : count;
  return {begin, begin + chunk < count ? begin + chunk : count};
}

// Calls fn(offset) for this thread's share of slice sl of channel ch: row by row when rows are at
// least a block long (two divisions per row, none per element), else over the flattened slice.
template <class Fn>
__device__ __forceinline__ void for_slice(const BatchNormDesc& d, int64_t ch, Slice sl, Fn fn) {
  if (d.inner >= kThreads) {
    for (int64_t b = sl.begin / d.inner; b * d.inner < sl.end; ++b) {
      const int64_t lo = sl.begin > b * d.inner ? sl.begin - b * d.inner : 0;
      const int64_t hi = sl.end < (b + 1) * d.inner ? sl.end - b * d.inner : d.inner;
      const int64_t row = (b * d.c + ch) * d.inner;
      for (int64_t i = lo + threadIdx.x; i < hi; i += kThreads) fn(row + i);
    }
  } else {
    for (int64_t j = sl.begin + threadIdx.x; j < sl.end; j += kThreads)
      fn((j / d.inner * d.c + ch) * d.inner + j % d.inner);
  }
}

// v2 pass 1: block (split, ch) writes the Welford mean and m2 of its slice to
// partials[(ch * splits + split) * 2 + {0, 1}] (per-thread states merged in a fixed tree).
__global__ void batch_norm_partial_stats_kernel(BatchNormDesc d, int64_t splits,
                                                const float* __restrict__ x,
                                                float* __restrict__ partials) {
  __shared__ int64_t s_count[kThreads];
  __shared__ float s_mean[kThreads], s_m2[kThreads];
  for (int64_t ch = blockIdx.y; ch < d.c; ch += gridDim.y) {
    Welford w{0, 0.0f, 0.0f};
    for_slice(d, ch, slice_of(d, blockIdx.x, splits),
              [&](int64_t e) { kernels::welford_push(w, x[e]); });
    block_welford(w, s_count, s_mean, s_m2);
    if (threadIdx.x == 0) {
      partials[(ch * splits + blockIdx.x) * 2] = s_mean[0];
      partials[(ch * splits + blockIdx.x) * 2 + 1] = s_m2[0];
    }
    __syncthreads();
  }
}

// v2 pass 2: thread ch merges its channel's partials in split order into mean, var and invstd.
__global__ void batch_norm_finish_stats_kernel(BatchNormDesc d, int64_t splits,
                                               const float* __restrict__ partials,
                                               float* __restrict__ mean, float* __restrict__ var,
                                               float* __restrict__ invstd) {
  const int64_t ch = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= d.c) return;
  Welford w{0, 0.0f, 0.0f};
  for (int64_t s = 0; s < splits; ++s) {
    const Slice sl = slice_of(d, s, splits);
    kernels::welford_merge(w, Welford{sl.end - sl.begin, partials[(ch * splits + s) * 2],
                                      partials[(ch * splits + s) * 2 + 1]});
  }
  const float v = w.m2 / float(d.n * d.inner);
  mean[ch] = w.mean;
  var[ch] = v;
  invstd[ch] = float(1.0 / sqrt(double(v) + d.eps));
}

// v2 pass 3 (and the dx pass of the backward): row r = (b, ch) per grid y index, its elements
// over grid x; y = (x - mean) * invstd * weight + bias.
__global__ void batch_norm_normalize_kernel(BatchNormDesc d, const float* __restrict__ x,
                                            const float* __restrict__ mean,
                                            const float* __restrict__ invstd,
                                            const float* __restrict__ weight,
                                            const float* __restrict__ bias, float* __restrict__ y) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = blockIdx.y; r < d.n * d.c; r += gridDim.y) {
    const int64_t ch = r % d.c;
    const float center = mean[ch], scale = invstd[ch] * (weight ? weight[ch] : 1.0f);
    const float shift = bias ? bias[ch] : 0.0f;
    const float* xr = x + r * d.inner;
    float* yr = y + r * d.inner;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < d.inner; i += step)
      yr[i] = (xr[i] - center) * scale + shift;
  }
}

// v2 backward pass 1: block (split, ch) writes its slice's sum(dy) and sum(dy (x - mean)) to
// partials[(ch * splits + split) * 2 + {0, 1}] (fixed tree).
__global__ void batch_norm_partial_grad_kernel(BatchNormDesc d, int64_t splits,
                                               const float* __restrict__ x,
                                               const float* __restrict__ dy,
                                               const float* __restrict__ mean,
                                               float* __restrict__ partials) {
  __shared__ float s_dy[kThreads], s_dyx[kThreads];
  for (int64_t ch = blockIdx.y; ch < d.c; ch += gridDim.y) {
    const float m = mean[ch];
    float sdy = 0.0f, sdyx = 0.0f;
    for_slice(d, ch, slice_of(d, blockIdx.x, splits), [&](int64_t e) {
      const float g = dy[e];
      sdy += g;
      sdyx = fmaf(g, x[e] - m, sdyx);
    });
    block_sum2<kThreads>(s_dy, s_dyx, sdy, sdyx);
    if (threadIdx.x == 0) {
      partials[(ch * splits + blockIdx.x) * 2] = sdy;
      partials[(ch * splits + blockIdx.x) * 2 + 1] = sdyx;
    }
    __syncthreads();
  }
}

// v2 backward pass 2: thread ch sums its partials in split order; dweight, dbias, and the dx
// coefficients totals[ch * 2 + {0, 1}] = sum(dy), sum(dy xhat).
__global__ void batch_norm_finish_grad_kernel(BatchNormDesc d, int64_t splits,
                                              const float* __restrict__ partials,
                                              const float* __restrict__ invstd,
                                              float* __restrict__ totals,
                                              float* __restrict__ dweight,
                                              float* __restrict__ dbias) {
  const int64_t ch = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= d.c) return;
  float sdy = 0.0f, sdyx = 0.0f;
  for (int64_t s = 0; s < splits; ++s) {
    sdy += partials[(ch * splits + s) * 2];
    sdyx += partials[(ch * splits + s) * 2 + 1];
  }
  const float dyxhat = sdyx * invstd[ch];
  totals[ch * 2] = sdy;
  totals[ch * 2 + 1] = dyxhat;
  if (dweight) dweight[ch] = dyxhat;
  if (dbias) dbias[ch] = sdy;
}

// v2 backward pass 3: dx per row as batch_norm_normalize_kernel, from the channel totals.
__global__ void batch_norm_dx_kernel(BatchNormDesc d, const float* __restrict__ x,
                                     const float* __restrict__ dy, const float* __restrict__ mean,
                                     const float* __restrict__ invstd,
                                     const float* __restrict__ weight,
                                     const float* __restrict__ totals, bool training,
                                     float* __restrict__ dx) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  const float count = float(d.n * d.inner);
  for (int64_t r = blockIdx.y; r < d.n * d.c; r += gridDim.y) {
    const int64_t ch = r % d.c;
    const float m = mean[ch], is = invstd[ch], wis = (weight ? weight[ch] : 1.0f) * is;
    const float mdy = training ? totals[ch * 2] / count : 0.0f;
    const float k = training ? is * totals[ch * 2 + 1] / count : 0.0f;
    const int64_t base = r * d.inner;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < d.inner; i += step)
      dx[base + i] = wis * (dy[base + i] - mdy - (x[base + i] - m) * k);
  }
}

// The grid of the row kernels: 256 threads a block, grid x over a row (at most 64 blocks), grid
// y over the rows (at most 65535).
dim3 row_grid(const BatchNormDesc& d) {
  const int64_t rows = d.n * d.c, per_row = (d.inner + 255) / 256;
  return dim3(unsigned(per_row < 64 ? per_row : 64), unsigned(rows < 65535 ? rows : 65535));
}

// The grid of the split kernels: one block per (split, channel), at most 65535 channels a launch.
dim3 split_grid(const BatchNormDesc& d) {
  return dim3(unsigned(batch_norm_splits(d)), unsigned(channel_blocks(d.c)));
}

// Blocks of 256 threads for the per-channel finishing kernels.
int finish_blocks(const BatchNormDesc& d) {
  return int((d.c + 255) / 256);
}

}  // namespace

// One block per channel.
cudaError_t batch_norm_forward_train_f32(const BatchNormDesc& d, const float* x,
                                         const float* weight, const float* bias, float* y,
                                         float* mean, float* var, float* invstd) {
  if (d.c == 0) return cudaSuccess;
  launch_kernel(batch_norm_train_kernel, channel_blocks(d.c), kThreads, 0, current_stream(), d, x,
                weight, bias, y, mean, var, invstd);
  return cudaGetLastError();
}

// Elementwise over the rows (row_grid).
cudaError_t batch_norm_forward_eval_f32(const BatchNormDesc& d, const float* x, const float* mean,
                                        const float* var, const float* weight, const float* bias,
                                        float* y) {
  if (d.n * d.c == 0 || d.inner == 0) return cudaSuccess;
  launch_kernel(batch_norm_eval_kernel, row_grid(d), 256, 0, current_stream(), d, x, mean, var,
                weight, bias, y);
  return cudaGetLastError();
}

// One block per channel.
cudaError_t batch_norm_backward_f32(const BatchNormDesc& d, const float* x, const float* dy,
                                    const float* mean, const float* invstd, const float* weight,
                                    bool training, float* dx, float* dweight, float* dbias) {
  if (d.c == 0) return cudaSuccess;
  launch_kernel(batch_norm_backward_kernel, channel_blocks(d.c), kThreads, 0, current_stream(), d,
                x, dy, mean, invstd, weight, training, dx, dweight, dbias);
  return cudaGetLastError();
}

int64_t batch_norm_splits(const kernels::BatchNormDesc& d) {
  const int64_t wanted = (d.n * d.inner + kSplitElements - 1) / kSplitElements;
  return wanted < 1 ? 1 : wanted > kMaxSplits ? kMaxSplits : wanted;
}

size_t batch_norm_workspace_bytes(const kernels::BatchNormDesc& d) {
  return size_t(d.c) * size_t(batch_norm_splits(d) * 2 + 2) * sizeof(float);
}

// Three launches: slice statistics, their merge per channel, the normalisation.
cudaError_t batch_norm_v2_split_forward_train_f32(const BatchNormDesc& d, const float* x,
                                                  const float* weight, const float* bias, float* y,
                                                  float* mean, float* var, float* invstd,
                                                  float* workspace) {
  if (d.c == 0) return cudaSuccess;
  const int64_t splits = batch_norm_splits(d);
  launch_kernel(batch_norm_partial_stats_kernel, split_grid(d), kThreads, 0, current_stream(), d,
                splits, x, workspace);
  launch_kernel(batch_norm_finish_stats_kernel, finish_blocks(d), 256, 0, current_stream(), d,
                splits, workspace, mean, var, invstd);
  if (d.n > 0 && d.inner > 0)
    launch_kernel(batch_norm_normalize_kernel, row_grid(d), 256, 0, current_stream(), d, x, mean,
                  invstd, weight, bias, y);
  return cudaGetLastError();
}

// Three launches: slice sums, their sum per channel (dweight, dbias), dx.
cudaError_t batch_norm_v2_split_backward_f32(const BatchNormDesc& d, const float* x,
                                             const float* dy, const float* mean,
                                             const float* invstd, const float* weight,
                                             bool training, float* dx, float* dweight, float* dbias,
                                             float* workspace) {
  if (d.c == 0) return cudaSuccess;
  const int64_t splits = batch_norm_splits(d);
  float* totals = workspace + d.c * splits * 2;
  launch_kernel(batch_norm_partial_grad_kernel, split_grid(d), kThreads, 0, current_stream(), d,
                splits, x, dy, mean, workspace);
  launch_kernel(batch_norm_finish_grad_kernel, finish_blocks(d), 256, 0, current_stream(), d,
                splits, workspace, invstd, totals, dweight, dbias);
  if (dx && d.n > 0 && d.inner > 0)
    launch_kernel(batch_norm_dx_kernel, row_grid(d), 256, 0, current_stream(), d, x, dy, mean,
                  invstd, weight, totals, training, dx);
  return cudaGetLastError();
}

}  // namespace signet::cuda
