#include "kernels/cuda/index.h"

#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::IndexDesc;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

// One thread per output element (o, j, i), grid-stride; Gather picks idx[o, j, i], else idx[j].
template <class T, bool Gather>
__global__ void select_kernel(IndexDesc d, const T* __restrict__ in,
                              const int64_t* __restrict__ idx, T* __restrict__ out) {
  const int64_t n = d.outer * d.dim_out * d.inner;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % d.inner, j = e / d.inner % d.dim_out, o = e / (d.inner * d.dim_out);
    const int64_t k = Gather ? idx[e] : idx[j];
    out[e] = in[(o * d.dim_in + k) * d.inner + i];
  }
}

// One thread per grad_in element (o, k, i), grid-stride: adds grad_out[o, j, i] for every j in
// order whose index (idx[o, j, i] when Scatter, else idx[j]) is k.
template <bool Scatter>
__global__ void accumulate_kernel(IndexDesc d, const float* __restrict__ grad_out,
                                  const int64_t* __restrict__ idx, float* __restrict__ grad_in) {
  const int64_t n = d.outer * d.dim_in * d.inner;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % d.inner, k = e / d.inner % d.dim_in, o = e / (d.inner * d.dim_in);
    float acc = grad_in[e];
    for (int64_t j = 0; j < d.dim_out; ++j) {
      const int64_t p = (o * d.dim_out + j) * d.inner + i;
      if ((Scatter ? idx[p] : idx[j]) == k) acc += grad_out[p];
    }
    grad_in[e] = acc;
  }
}

// Blocks of kThreads for n elements, at most kMaxBlocks (grid-stride beyond).
int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return int(b < kMaxBlocks ? b : kMaxBlocks);
}

// Launches the select kernel over the output.
template <class T, bool Gather>
cudaError_t run_select(const IndexDesc& d, const T* in, const int64_t* idx, T* out) {
  const int64_t n = d.outer * d.dim_out * d.inner;
  if (n == 0) return cudaSuccess;
  launch_kernel(select_kernel<T, Gather>, blocks_for(n), kThreads, 0, current_stream(), d, in, idx,
                out);
  return cudaGetLastError();
}

// Launches the accumulate kernel over grad_in.
template <bool Scatter>
cudaError_t run_accumulate(const IndexDesc& d, const float* grad_out, const int64_t* idx,
                           float* grad_in) {
  const int64_t n = d.outer * d.dim_in * d.inner;
  if (n == 0 || d.dim_out == 0) return cudaSuccess;
  launch_kernel(accumulate_kernel<Scatter>, blocks_for(n), kThreads, 0, current_stream(), d,
                grad_out, idx, grad_in);
  return cudaGetLastError();
}

}  // namespace

cudaError_t index_select_f32(const IndexDesc& d, const float* in, const int64_t* idx, float* out) {
  return run_select<float, false>(d, in, idx, out);
}

cudaError_t index_select_i64(const IndexDesc& d, const int64_t* in, const int64_t* idx,
                             int64_t* out) {
  return run_select<int64_t, false>(d, in, idx, out);
}

cudaError_t gather_f32(const IndexDesc& d, const float* in, const int64_t* idx, float* out) {
  return run_select<float, true>(d, in, idx, out);
}

cudaError_t gather_i64(const IndexDesc& d, const int64_t* in, const int64_t* idx, int64_t* out) {
  return run_select<int64_t, true>(d, in, idx, out);
}

cudaError_t index_add_f32(const IndexDesc& d, const float* grad_out, const int64_t* idx,
                          float* grad_in) {
  return run_accumulate<false>(d, grad_out, idx, grad_in);
}

cudaError_t scatter_add_f32(const IndexDesc& d, const float* grad_out, const int64_t* idx,
                            float* grad_in) {
  return run_accumulate<true>(d, grad_out, idx, grad_in);
}

}  // namespace signet::cuda
