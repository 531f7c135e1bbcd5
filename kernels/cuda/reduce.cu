#include "kernels/cuda/reduce.h"
#include "kernels/cuda/stream.h"

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

// True when candidate (value b at index bi) beats the current best (a at ai): a NaN beats a
// number, a larger (smaller) value beats a smaller (larger) one, and ties go to the lower index.
__device__ __forceinline__ bool beats(float b, int64_t bi, float a, int64_t ai, bool is_max) {
  const bool a_nan = a != a, b_nan = b != b;
  if (a_nan || b_nan) return b_nan && (!a_nan || bi < ai);
  if (a != b) return is_max ? b > a : b < a;
  return bi < ai;
}

// Block b finds the extremum of output element b: each thread scans its share in index order,
// then the block combines (value, index) pairs in shared memory.
__global__ void extremum_kernel(ReduceDesc d, int64_t outputs, int64_t count, bool is_max,
                                const float* __restrict__ in, float* __restrict__ out,
                                int64_t* __restrict__ arg) {
  __shared__ float best[kThreads];
  __shared__ int64_t best_at[kThreads];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const int64_t base = offset_of(o, d.nkeep, d.keep_shape, d.keep_in_stride);
    float v = in[base];
    int64_t at = 0;
    for (int64_t i = threadIdx.x; i < count; i += kThreads) {
      const float x = in[base + offset_of(i, d.nred, d.red_shape, d.red_in_stride)];
      if (beats(x, i, v, at, is_max)) {
        v = x;
        at = i;
      }
    }
    best[threadIdx.x] = v;
    best_at[threadIdx.x] = at;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      if (int(threadIdx.x) < half && beats(best[threadIdx.x + half], best_at[threadIdx.x + half],
                                           best[threadIdx.x], best_at[threadIdx.x], is_max)) {
        best[threadIdx.x] = best[threadIdx.x + half];
        best_at[threadIdx.x] = best_at[threadIdx.x + half];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      const int64_t out_off = offset_of(o, d.nkeep, d.keep_shape, d.keep_out_stride);
      out[out_off] = best[0];
      if (arg) arg[out_off] = best_at[0];
    }
    __syncthreads();
  }
}

// Thread o adds grad_out of kept index o to the input position arg names.
__global__ void scatter_kernel(ReduceDesc d, int64_t outputs, const float* __restrict__ grad_out,
                               const int64_t* __restrict__ arg, float* __restrict__ grad_in) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < outputs; o += stride) {
    const int64_t out_off = offset_of(o, d.nkeep, d.keep_shape, d.keep_out_stride);
    const int64_t in_off = offset_of(o, d.nkeep, d.keep_shape, d.keep_in_stride) +
                           offset_of(arg[out_off], d.nred, d.red_shape, d.red_in_stride);
    grad_in[in_off] += grad_out[out_off];
  }
}

// The number of output elements and of elements reduced into each.
void sizes(const ReduceDesc& d, int64_t* outputs, int64_t* count) {
  *outputs = *count = 1;
  for (int i = 0; i < d.nkeep; ++i) *outputs *= d.keep_shape[i];
  for (int i = 0; i < d.nred; ++i) *count *= d.red_shape[i];
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
  launch_kernel(sum_kernel, blocks, kThreads, 0, current_stream(), d, outputs, count, in, out);
  return cudaGetLastError();
}

// One block per output element (at most 4096 blocks, looping beyond).
cudaError_t reduce_extremum_f32(const ReduceDesc& d, const float* in, float* out, int64_t* arg,
                                bool is_max) {
  int64_t outputs, count;
  sizes(d, &outputs, &count);
  if (outputs == 0 || count == 0) return cudaSuccess;
  const int blocks = int(outputs < 4096 ? outputs : 4096);
  launch_kernel(extremum_kernel, blocks, kThreads, 0, current_stream(), d, outputs, count, is_max,
                in, out, arg);
  return cudaGetLastError();
}

// One thread per output element.
cudaError_t scatter_to_arg_f32(const ReduceDesc& d, const float* grad_out, const int64_t* arg,
                               float* grad_in) {
  int64_t outputs, count;
  sizes(d, &outputs, &count);
  if (outputs == 0 || count == 0) return cudaSuccess;
  const int64_t wanted = (outputs + kThreads - 1) / kThreads;
  launch_kernel(scatter_kernel, int(wanted < 4096 ? wanted : 4096), kThreads, 0, current_stream(),
                d, outputs, grad_out, arg, grad_in);
  return cudaGetLastError();
}

}  // namespace signet::cuda
