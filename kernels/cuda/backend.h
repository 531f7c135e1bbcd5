// The table of device functions the engine's cuda device calls: memory, copies, device queries
// and the kernel launchers. kernels/cuda/backend.cu builds one table per library (nvcc:
// signet::cuda::backend(), host SIMT: signet::simt_cuda::backend()). A new kernel plugs in as one
// field here and one line in backend.cu. This header needs neither the CUDA toolkit nor the simt
// runtime; statuses are CUDA error numbers (0 is success). All work runs on the default stream.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/elementwise_desc.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/common/reduce_desc.h"
#include "kernels/common/softmax_desc.h"
#include "kernels/common/strided.h"

namespace signet {

struct GpuBackend {
  // Devices.
  int (*device_count)(std::string* error);
  std::string (*device_name)(int device);
  size_t (*device_memory)(int device);  // total bytes, 0 when unknown
  int (*set_device)(int device);
  int (*synchronize)();
  // "cudaErrorLaunchFailure: unspecified launch failure" and any detail the backend keeps.
  std::string (*describe)(int status);

  // Memory (blocking copies; a copy from the device waits for queued kernels).
  int (*malloc)(void** ptr, size_t bytes);
  int (*free)(void* ptr);
  int (*memcpy_h2d)(void* dst, const void* src, size_t bytes);
  int (*memcpy_d2h)(void* dst, const void* src, size_t bytes);
  int (*memcpy_d2d)(void* dst, const void* src, size_t bytes);
  int (*memset)(void* ptr, int value, size_t bytes);

  // Kernels on f32; each returns the launch status. Descriptors as the reference kernels'.
  int (*unary_f32)(kernels::UnaryOp op, kernels::ElementwiseParams p, const kernels::StridedDesc& d,
                   const float* a, float* out);
  int (*binary_f32)(kernels::BinaryOp op, kernels::ElementwiseParams p,
                    const kernels::StridedDesc& d, const float* a, const float* b, float* out);
  int (*fill_f32)(const kernels::StridedDesc& d, float value, float* out);
  int (*reduce_sum_f32)(const kernels::ReduceDesc& d, const float* in, float* out);
  // Softmax (log-softmax when log) along SoftmaxDesc's dim, forward and backward.
  int (*softmax_forward_f32)(const kernels::SoftmaxDesc& d, const float* x, float* y, bool log);
  int (*softmax_backward_f32)(const kernels::SoftmaxDesc& d, const float* y, const float* dy,
                              float* dx, bool log);
  // Simple correct GEMM (kernels/cuda/gemm_naive.cu) until the GEMM issue.
  int (*gemm_f32)(const kernels::GemmDesc& d, const float* a, const float* b, float* c);
};

}  // namespace signet

// One table per build of kernels/cuda (declared here so the engine may name both).
namespace signet::cuda {
const GpuBackend& backend();
}
namespace signet::simt_cuda {
const GpuBackend& backend();
}
