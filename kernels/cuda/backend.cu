#include "kernels/cuda/cuda_compat.h"

#include "kernels/cuda/backend.h"
#include "kernels/cuda/device_query.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm_naive.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"

namespace signet::cuda {
namespace {

// Total global memory of device i; 0 when it cannot be read.
size_t device_memory(int device) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return prop.totalGlobalMem;
}

// Names the status as the runtime does.
std::string describe(int status) {
  const cudaError_t e = cudaError_t(status);
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

int set_device(int device) {
  return cudaSetDevice(device);
}
int synchronize() {
  return cudaDeviceSynchronize();
}
int device_malloc(void** ptr, size_t bytes) {
  return cudaMalloc(ptr, bytes);
}
int device_free(void* ptr) {
  return cudaFree(ptr);
}
int copy_h2d(void* dst, const void* src, size_t bytes) {
  return cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
}
int copy_d2h(void* dst, const void* src, size_t bytes) {
  return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
}
int copy_d2d(void* dst, const void* src, size_t bytes) {
  return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice);
}
int device_memset(void* ptr, int value, size_t bytes) {
  return cudaMemset(ptr, value, bytes);
}
int unary(kernels::UnaryOp op, kernels::ElementwiseParams p, const kernels::StridedDesc& d,
          const float* a, float* out) {
  return unary_f32(op, p, d, a, out);
}
int binary(kernels::BinaryOp op, kernels::ElementwiseParams p, const kernels::StridedDesc& d,
           const float* a, const float* b, float* out) {
  return binary_f32(op, p, d, a, b, out);
}
int fill(const kernels::StridedDesc& d, float value, float* out) {
  return fill_f32(d, value, out);
}
int reduce_sum(const kernels::ReduceDesc& d, const float* in, float* out) {
  return reduce_sum_f32(d, in, out);
}
int softmax_forward(const kernels::SoftmaxDesc& d, const float* x, float* y, bool log) {
  return softmax_forward_f32(d, x, y, log);
}
int softmax_backward(const kernels::SoftmaxDesc& d, const float* y, const float* dy, float* dx,
                     bool log) {
  return softmax_backward_f32(d, y, dy, dx, log);
}
int gemm(const kernels::GemmDesc& d, const float* a, const float* b, float* c) {
  return gemm_v1_naive_f32(d, a, b, c);
}

}  // namespace

// This build's table.
const GpuBackend& backend() {
  static const GpuBackend table{&device_count,    &device_name,      &device_memory, &set_device,
                                &synchronize,     &describe,         &device_malloc, &device_free,
                                &copy_h2d,        &copy_d2h,         &copy_d2d,      &device_memset,
                                &unary,           &binary,           &fill,          &reduce_sum,
                                &softmax_forward, &softmax_backward, &gemm};
  return table;
}

}  // namespace signet::cuda
