#include "kernels/cuda/layer_norm.h"

#include <cmath>

#include "kernels/cuda/block_sum.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::LayerNormDesc;

constexpr int kThreads = 256;      // threads of a row block
constexpr int kColThreads = 256;   // columns of a partial block
constexpr int64_t kRowChunk = 64;  // rows a partial block sums
constexpr int64_t kMaxBlocks = 65535;

// Sums a over the block in a fixed tree; every thread gets the total (ends with a barrier).
__device__ __forceinline__ float block_sum(float* s_a, float a) {
  s_a[threadIdx.x] = a;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) s_a[threadIdx.x] += s_a[threadIdx.x + half];
    __syncthreads();
  }
  a = s_a[0];
  __syncthreads();
  return a;
}

// Block b handles rows b, b + gridDim.x, ...: the mean by a fixed-tree sum, the variance by a
// second fixed-tree sum of (x - mean)^2, then y.
__global__ void layer_norm_forward_kernel(LayerNormDesc d, const float* __restrict__ x,
                                          const float* __restrict__ weight,
                                          const float* __restrict__ bias, float* __restrict__ y,
                                          float* __restrict__ mean, float* __restrict__ rstd) {
  __shared__ float s_a[kThreads];
  for (int64_t r = blockIdx.x; r < d.rows; r += gridDim.x) {
    const float* xr = x + r * d.cols;
    float* yr = y + r * d.cols;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < d.cols; j += kThreads) s += xr[j];
    const float m = block_sum(s_a, s) / float(d.cols);
    float q = 0.0f;
    for (int64_t j = threadIdx.x; j < d.cols; j += kThreads) {
      const float c = xr[j] - m;
      q = fmaf(c, c, q);
    }
    const float rs = float(1.0 / sqrt(double(block_sum(s_a, q) / float(d.cols)) + d.eps));
    if (threadIdx.x == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
    for (int64_t j = threadIdx.x; j < d.cols; j += kThreads) {
      const float v = (xr[j] - m) * rs;
      yr[j] = fmaf(v, weight ? weight[j] : 1.0f, bias ? bias[j] : 0.0f);
    }
  }
}

// Block per row (grid-stride): sum(g) and sum(g xhat) with g = dy w in a fixed tree, then
// dx = rstd (g - mean_j(g) - xhat mean_j(g xhat)).
__global__ void layer_norm_dx_kernel(LayerNormDesc d, const float* __restrict__ x,
                                     const float* __restrict__ dy, const float* __restrict__ mean,
                                     const float* __restrict__ rstd,
                                     const float* __restrict__ weight, float* __restrict__ dx) {
  __shared__ float s_a[kThreads], s_b[kThreads];
  for (int64_t r = blockIdx.x; r < d.rows; r += gridDim.x) {
    const float* xr = x + r * d.cols;
    const float* gr = dy + r * d.cols;
    const float m = mean[r], rs = rstd[r];
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = threadIdx.x; j < d.cols; j += kThreads) {
      const float g = gr[j] * (weight ? weight[j] : 1.0f);
      sg += g;
      sgx = fmaf(g, (xr[j] - m) * rs, sgx);
    }
    block_sum2<kThreads>(s_a, s_b, sg, sgx);
    const float mg = sg / float(d.cols), mgx = sgx / float(d.cols);
    float* dxr = dx + r * d.cols;
    for (int64_t j = threadIdx.x; j < d.cols; j += kThreads) {
      const float g = gr[j] * (weight ? weight[j] : 1.0f);
      dxr[j] = rs * (g - mg - (xr[j] - m) * rs * mgx);
    }
  }
}

// Block (column tile blockIdx.x, row chunk blockIdx.y + k gridDim.y): thread j of the tile sums
// dy xhat and dy over the chunk's rows in row order into partial rows (chunk) of the workspace:
// ws[chunk * cols + j] for dweight, ws[(chunks + chunk) * cols + j] for dbias.
__global__ void layer_norm_col_partial_kernel(
    LayerNormDesc d, int64_t chunks, const float* __restrict__ x, const float* __restrict__ dy,
    const float* __restrict__ mean, const float* __restrict__ rstd, float* __restrict__ ws) {
  const int64_t j = int64_t(blockIdx.x) * kColThreads + threadIdx.x;
  if (j >= d.cols) return;
  for (int64_t c = blockIdx.y; c < chunks; c += gridDim.y) {
    const int64_t r0 = c * kRowChunk, r1 = r0 + kRowChunk < d.rows ? r0 + kRowChunk : d.rows;
    float sw = 0.0f, sb = 0.0f;
    for (int64_t r = r0; r < r1; ++r) {
      const float g = dy[r * d.cols + j];
      sw = fmaf(g, (x[r * d.cols + j] - mean[r]) * rstd[r], sw);
      sb += g;
    }
    ws[c * d.cols + j] = sw;
    ws[(chunks + c) * d.cols + j] = sb;
  }
}

// One thread per column: dweight and dbias as the sum of the column's chunk partials in chunk
// order.
__global__ void layer_norm_col_finish_kernel(LayerNormDesc d, int64_t chunks,
                                             const float* __restrict__ ws,
                                             float* __restrict__ dweight,
                                             float* __restrict__ dbias) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= d.cols) return;
  float sw = 0.0f, sb = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) {
    sw += ws[c * d.cols + j];
    sb += ws[(chunks + c) * d.cols + j];
  }
  if (dweight) dweight[j] = sw;
  if (dbias) dbias[j] = sb;
}

// Row blocks: one per row, at most kMaxBlocks (grid-stride beyond).
int row_blocks(int64_t rows) {
  return int(rows < kMaxBlocks ? rows : kMaxBlocks);
}

// Row chunks of kRowChunk rows for the column partials.
int64_t row_chunks(const LayerNormDesc& d) {
  return (d.rows + kRowChunk - 1) / kRowChunk;
}

}  // namespace

// One block per row.
cudaError_t layer_norm_forward_f32(const LayerNormDesc& d, const float* x, const float* weight,
                                   const float* bias, float* y, float* mean, float* rstd) {
  if (d.rows == 0 || d.cols == 0) return cudaSuccess;
  launch_kernel(layer_norm_forward_kernel, row_blocks(d.rows), kThreads, 0, current_stream(), d, x,
                weight, bias, y, mean, rstd);
  return cudaGetLastError();
}

// dx by row blocks; dweight and dbias by column partials, then their fixed-order sum.
cudaError_t layer_norm_backward_f32(const LayerNormDesc& d, const float* x, const float* dy,
                                    const float* mean, const float* rstd, const float* weight,
                                    float* dx, float* dweight, float* dbias, float* workspace) {
  if (d.rows == 0 || d.cols == 0) return cudaSuccess;
  if (dx)
    launch_kernel(layer_norm_dx_kernel, row_blocks(d.rows), kThreads, 0, current_stream(), d, x, dy,
                  mean, rstd, weight, dx);
  if (dweight || dbias) {
    const int64_t chunks = row_chunks(d), tiles = (d.cols + kColThreads - 1) / kColThreads;
    const dim3 grid(unsigned(tiles), unsigned(chunks < kMaxBlocks ? chunks : kMaxBlocks));
    launch_kernel(layer_norm_col_partial_kernel, grid, kColThreads, 0, current_stream(), d, chunks,
                  x, dy, mean, rstd, workspace);
    launch_kernel(layer_norm_col_finish_kernel, int(tiles), kColThreads, 0, current_stream(), d,
                  chunks, static_cast<const float*>(workspace), dweight, dbias);
  }
  return cudaGetLastError();
}

size_t layer_norm_workspace_bytes(const LayerNormDesc& d) {
  if (d.rows == 0 || d.cols == 0) return 0;
  return size_t(2 * row_chunks(d) * d.cols) * sizeof(float);
}

}  // namespace signet::cuda
