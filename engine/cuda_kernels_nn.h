// The cuda implementations of the nn ops registered in the dispatch (dropout, pooling, batch
// norm, convolution): adapters from the untyped dispatch signatures to the chosen backend's
// kernels (the one table of kernels/cuda/backend.h), each checking the launch. Pointers are f32
// device pointers.
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"
#include "kernels/common/dropout_desc.h"
#include "kernels/common/index_desc.h"
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

// Batch norm v2 (several blocks per channel, kernels/cuda/batch_norm.h): training forward and
// fused backward as the v1 ones above, with a device workspace allocated on the current device.
void cuda_batch_norm_v2_train_f32(const kernels::BatchNormDesc& d, const void* x, const void* w,
                                  const void* b, void* y, void* mean, void* var, void* invstd);
void cuda_batch_norm_v2_backward_f32(const kernels::BatchNormDesc& d, const void* x, const void* dy,
                                     const void* mean, const void* invstd, const void* w,
                                     bool training, void* dx, void* dw, void* db);

// Convolution forward (the simple v1_naive kernel until issue #11).
void cuda_conv_forward_f32(const kernels::ConvDesc& d, const void* x, const void* w, const void* b,
                           void* y);
// Convolution backward-data (v1_naive).
void cuda_conv_backward_data_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                 void* dx);
// Convolution backward-weights and bias (v1_naive; db may be null).
void cuda_conv_backward_weights_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                    void* dw, void* db);
// The implicit-GEMM convolution (v2): forward, backward-data, backward-weights (its workspace
// allocated on the current device).
void cuda_conv_forward_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                 const void* b, void* y);
void cuda_conv_backward_data_igemm_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                       void* dx);
void cuda_conv_backward_weights_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                          void* dw, void* db);
// The implicit-GEMM convolution on tensor cores: v3 on tf32 (Bf16 false) or v4 on bf16.
template <bool Bf16>
void cuda_conv_forward_igemm_mma_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                     const void* b, void* y);
template <bool Bf16>
void cuda_conv_backward_data_igemm_mma_f32(const kernels::ConvDesc& d, const void* dy,
                                           const void* w, void* dx);
template <bool Bf16>
void cuda_conv_backward_weights_igemm_mma_f32(const kernels::ConvDesc& d, const void* x,
                                              const void* dy, void* dw, void* db);
// The small-C first-layer forward, and whether it takes d.
void cuda_conv_forward_first_layer_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                       const void* b, void* y);
bool cuda_conv_first_layer_applies(const kernels::ConvDesc& d);
// Layer norm (v1 row-block, kernels/cuda/layer_norm.h): forward, and the backward with its
// workspace allocated on the current device.
void cuda_layer_norm_forward_f32(const kernels::LayerNormDesc& d, const void* x, const void* w,
                                 const void* b, void* y, void* mean, void* rstd);
void cuda_layer_norm_backward_f32(const kernels::LayerNormDesc& d, const void* x, const void* dy,
                                  const void* mean, const void* rstd, const void* w, void* dx,
                                  void* dw, void* db);
// Indexing (kernels/cuda/index.h): index_select and gather on f32 and i64 (T), index_add and
// scatter_add on f32.
template <class T>
void cuda_index_select(const kernels::IndexDesc& d, const void* in, const int64_t* idx, void* out);
template <class T>
void cuda_gather(const kernels::IndexDesc& d, const void* in, const int64_t* idx, void* out);
void cuda_index_add_f32(const kernels::IndexDesc& d, const void* g, const int64_t* idx, void* gi);
void cuda_scatter_add_f32(const kernels::IndexDesc& d, const void* g, const int64_t* idx, void* gi);

}  // namespace signet
