// The cuda implementations of the nn ops registered in the dispatch (dropout, pooling, batch
// norm, the simple convolution): adapters from the untyped dispatch signatures to the chosen
// backend's nn kernels (kernels/cuda/nn_backend.h), each checking the launch. Pointers are f32
// device pointers.
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"
#include "kernels/common/dropout_desc.h"
#include "kernels/common/norm_desc.h"
#include "kernels/common/pool_desc.h"

namespace signet {

// y = x * mask * scale with the Philox dropout mask of d (bitwise the CPU's).
void cuda_dropout_f32(const kernels::DropoutDesc& d, const void* x, void* y);

// Max pooling forward with i64 indices.
void cuda_max_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y, int64_t* idx);
// Max pooling backward through the saved indices (gather, deterministic).
void cuda_max_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, const int64_t* idx,
                                void* dx);
// Average pooling forward.
void cuda_avg_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y);
// Average pooling backward (gather, deterministic).
void cuda_avg_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, void* dx);
// Adaptive (and global) average pooling forward.
void cuda_adaptive_avg_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y);
// Adaptive average pooling backward (gather, deterministic).
void cuda_adaptive_avg_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, void* dx);

// Batch norm training forward: y and the batch mean, biased var and invstd per channel.
void cuda_batch_norm_train_f32(const kernels::BatchNormDesc& d, const void* x, const void* w,
                               const void* b, void* y, void* mean, void* var, void* invstd);
// Batch norm evaluation forward from the running statistics.
void cuda_batch_norm_eval_f32(const kernels::BatchNormDesc& d, const void* x, const void* mean,
                              const void* var, const void* w, const void* b, void* y);
// Batch norm fused backward: dx, dweight, dbias (each may be null).
void cuda_batch_norm_backward_f32(const kernels::BatchNormDesc& d, const void* x, const void* dy,
                                  const void* mean, const void* invstd, const void* w,
                                  bool training, void* dx, void* dw, void* db);

// Convolution forward (the simple v1_naive kernel until issue #11).
void cuda_conv_forward_f32(const kernels::ConvDesc& d, const void* x, const void* w, const void* b,
                           void* y);
// Convolution backward-data (v1_naive).
void cuda_conv_backward_data_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                 void* dx);
// Convolution backward-weights and bias (v1_naive; db may be null).
// The implicit-GEMM convolution (v2): forward, backward-data, backward-weights (its workspace
// allocated on the current device).
void cuda_conv_forward_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                 const void* b, void* y);
void cuda_conv_backward_data_igemm_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                       void* dx);
void cuda_conv_backward_weights_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                          void* dw, void* db);
void cuda_conv_backward_weights_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                    void* dw, void* db);

}  // namespace signet
