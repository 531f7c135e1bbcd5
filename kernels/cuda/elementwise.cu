#include "kernels/cuda/elementwise.h"

#include "kernels/common/activations.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::BinaryOp;
using kernels::ElementwiseParams;
using kernels::StridedDesc;
using kernels::UnaryOp;

// Offsets of operands 0..2 for the row-major linear index i of the iteration space.
__device__ __forceinline__ void offsets(const StridedDesc& d, int64_t i, int64_t off[3]) {
  off[0] = off[1] = off[2] = 0;
  for (int k = d.ndim - 1; k >= 0; --k) {
    const int64_t c = i % d.shape[k];
    i /= d.shape[k];
    off[0] += c * d.stride[0][k];
    off[1] += c * d.stride[1][k];
    off[2] += c * d.stride[2][k];
  }
}

// One unary op on one value, as kernels/reference/elementwise.cpp computes it.
__device__ __forceinline__ float apply_unary(UnaryOp op, float x, float pa, float pb) {
  switch (op) {
    case UnaryOp::copy:
      return x;
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return expf(x);
    case UnaryOp::log:
      return logf(x);
    case UnaryOp::sqrt:
      return sqrtf(x);
    case UnaryOp::abs:
      return fabsf(x);
    case UnaryOp::relu:
      return kernels::relu(x);
    case UnaryOp::sigmoid:
      return kernels::sigmoid(x);
    case UnaryOp::tanh:
      return tanhf(x);
    case UnaryOp::gelu:
      return kernels::gelu(x);
    case UnaryOp::pow_scalar:
      return powf(x, pa);
    case UnaryOp::clamp:
      return fminf(fmaxf(x, pa), pb);
    case UnaryOp::leaky_relu:
      return kernels::leaky_relu(x, pa);
  }
  return x;
}

// One binary op on one pair, as kernels/reference/elementwise.cpp computes it.
__device__ __forceinline__ float apply_binary(BinaryOp op, float a, float b, float pa, float pb) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      return a / b;
    case BinaryOp::relu_backward:
      return b > 0.0f ? a : 0.0f;
    case BinaryOp::leaky_relu_backward:
      return b > 0.0f ? a : a * pa;
    case BinaryOp::gelu_backward:
      return a * kernels::gelu_grad(b);
    case BinaryOp::clamp_backward:
      return b >= pa && b <= pb ? a : 0.0f;
    case BinaryOp::abs_backward:
      return b > 0.0f ? a : (b < 0.0f ? -a : 0.0f);
    case BinaryOp::sigmoid_backward:
      return a * b * (1.0f - b);
    case BinaryOp::tanh_backward:
      return a * (1.0f - b * b);
  }
  return a;
}

// Grid-stride loop over the iteration space; each thread finds its offsets from the index.
__global__ void unary_kernel(UnaryOp op, float pa, float pb, StridedDesc d, int64_t n,
                             const float* __restrict__ a, float* __restrict__ out) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t off[3];
    offsets(d, i, off);
    out[off[0]] = apply_unary(op, a[off[1]], pa, pb);
  }
}

// As unary_kernel with two inputs.
__global__ void binary_kernel(BinaryOp op, float pa, float pb, StridedDesc d, int64_t n,
                              const float* __restrict__ a, const float* __restrict__ b,
                              float* __restrict__ out) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t off[3];
    offsets(d, i, off);
    out[off[0]] = apply_binary(op, a[off[1]], b[off[2]], pa, pb);
  }
}

// As binary_kernel with one input replaced by the scalar s (on the left when scalar_first).
__global__ void binary_scalar_kernel(BinaryOp op, float pa, float pb, StridedDesc d, int64_t n,
                                     const float* __restrict__ a, float s, bool scalar_first,
                                     float* __restrict__ out) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t off[3];
    offsets(d, i, off);
    const float x = a[off[1]];
    out[off[0]] = scalar_first ? apply_binary(op, s, x, pa, pb) : apply_binary(op, x, s, pa, pb);
  }
}

// Writes value at every point.
__global__ void fill_kernel(StridedDesc d, int64_t n, float value, float* __restrict__ out) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t off[3];
    offsets(d, i, off);
    out[off[0]] = value;
  }
}

constexpr int kThreads = 256;

// Blocks for n points: one per kThreads, at most 4096 (the grid-stride loop does the rest).
int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return int(wanted < 4096 ? wanted : 4096);
}

}  // namespace

// Launches unary_kernel; an empty space launches nothing.
cudaError_t unary_f32(UnaryOp op, ElementwiseParams p, const StridedDesc& d, const float* a,
                      float* out) {
  const int64_t n = kernels::strided_numel(d);
  if (n == 0) return cudaSuccess;
  launch_kernel(unary_kernel, blocks_for(n), kThreads, 0, current_stream(), op, float(p.a),
                float(p.b), d, n, a, out);
  return cudaGetLastError();
}

// Launches binary_kernel; an empty space launches nothing.
cudaError_t binary_f32(BinaryOp op, ElementwiseParams p, const StridedDesc& d, const float* a,
                       const float* b, float* out) {
  const int64_t n = kernels::strided_numel(d);
  if (n == 0) return cudaSuccess;
  launch_kernel(binary_kernel, blocks_for(n), kThreads, 0, current_stream(), op, float(p.a),
                float(p.b), d, n, a, b, out);
  return cudaGetLastError();
}

// Launches binary_scalar_kernel; an empty space launches nothing.
cudaError_t binary_scalar_f32(BinaryOp op, ElementwiseParams p, const StridedDesc& d,
                              const float* a, float s, bool scalar_first, float* out) {
  const int64_t n = kernels::strided_numel(d);
  if (n == 0) return cudaSuccess;
  launch_kernel(binary_scalar_kernel, blocks_for(n), kThreads, 0, current_stream(), op, float(p.a),
                float(p.b), d, n, a, s, scalar_first, out);
  return cudaGetLastError();
}

// Launches fill_kernel; an empty space launches nothing.
cudaError_t fill_f32(const StridedDesc& d, float value, float* out) {
  const int64_t n = kernels::strided_numel(d);
  if (n == 0) return cudaSuccess;
  launch_kernel(fill_kernel, blocks_for(n), kThreads, 0, current_stream(), d, n, value, out);
  return cudaGetLastError();
}

}  // namespace signet::cuda
