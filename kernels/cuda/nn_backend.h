// The table of the cuda device's nn kernels (dropout, pooling, batch norm, the simple
// convolution), one per build of kernels/cuda as kernels/cuda/backend.h's table: nvcc
// (signet::cuda::nn_backend()) and host SIMT (signet::simt_cuda::nn_backend()). It sits beside
// GpuBackend so these kernels plug in without touching that table; merge the two when convenient.
// Needs neither the CUDA toolkit nor the simt runtime; statuses are CUDA error numbers (0 is
// success). Descriptors as the reference kernels'.
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"
#include "kernels/common/dropout_desc.h"
#include "kernels/common/norm_desc.h"
#include "kernels/common/pool_desc.h"

namespace signet {

struct GpuNnBackend {
  // Dropout forward (and backward, on dy) with the Philox dropout stream (kernels/cuda/dropout.h).
  int (*dropout_f32)(const kernels::DropoutDesc& d, const float* x, float* y);
  // Pooling (kernels/cuda/pool.h).
  int (*max_pool_forward_f32)(const kernels::PoolDesc& d, const float* x, float* y, int64_t* idx);
  int (*max_pool_backward_f32)(const kernels::PoolDesc& d, const float* dy, const int64_t* idx,
                               float* dx);
  int (*avg_pool_forward_f32)(const kernels::PoolDesc& d, const float* x, float* y);
  int (*avg_pool_backward_f32)(const kernels::PoolDesc& d, const float* dy, float* dx);
  int (*adaptive_avg_pool_forward_f32)(const kernels::PoolDesc& d, const float* x, float* y);
  int (*adaptive_avg_pool_backward_f32)(const kernels::PoolDesc& d, const float* dy, float* dx);
  // Batch norm (kernels/cuda/batch_norm.h).
  int (*batch_norm_train_f32)(const kernels::BatchNormDesc& d, const float* x, const float* weight,
                              const float* bias, float* y, float* mean, float* var, float* invstd);
  int (*batch_norm_eval_f32)(const kernels::BatchNormDesc& d, const float* x, const float* mean,
                             const float* var, const float* weight, const float* bias, float* y);
  int (*batch_norm_backward_f32)(const kernels::BatchNormDesc& d, const float* x, const float* dy,
                                 const float* mean, const float* invstd, const float* weight,
                                 bool training, float* dx, float* dweight, float* dbias);
  // The simple convolution until issue #11 (kernels/cuda/conv_naive.h).
  int (*conv_forward_f32)(const kernels::ConvDesc& d, const float* x, const float* w,
                          const float* bias, float* y);
  int (*conv_backward_data_f32)(const kernels::ConvDesc& d, const float* dy, const float* w,
                                float* dx);
  int (*conv_backward_weights_f32)(const kernels::ConvDesc& d, const float* x, const float* dy,
                                   float* dw, float* dbias);
  // Implicit-GEMM convolution (kernels/cuda/conv_igemm.h, v2); backward-weights takes a device
  // workspace of conv_igemm_workspace_bytes(d) bytes.
  int (*conv_igemm_forward_f32)(const kernels::ConvDesc& d, const float* x, const float* w,
                                const float* bias, float* y);
  int (*conv_igemm_backward_data_f32)(const kernels::ConvDesc& d, const float* dy, const float* w,
                                      float* dx);
  int (*conv_igemm_backward_weights_f32)(const kernels::ConvDesc& d, const float* x,
                                         const float* dy, float* dw, float* dbias,
                                         float* workspace);
  size_t (*conv_igemm_workspace_bytes)(const kernels::ConvDesc& d);
};

}  // namespace signet

// One table per build of kernels/cuda (declared here so the engine may name both).
namespace signet::cuda {
const GpuNnBackend& nn_backend();
}
namespace signet::simt_cuda {
const GpuNnBackend& nn_backend();
}
