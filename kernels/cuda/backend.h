// The one table of device functions the engine's cuda device calls: devices, memory, copies,
// streams and every kernel launcher. kernels/cuda/backend.cu builds one table per library (nvcc:
// signet::cuda::backend(), host SIMT: signet::simt_cuda::backend()). A new kernel plugs in as one
// field appended here and one assignment in backend.cu. This header needs neither the CUDA toolkit
// nor the simt runtime; statuses are CUDA error numbers (0 is success). Launches and copies run on
// the stream set_stream made current for the calling host thread (kernels/cuda/stream.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/conv_desc.h"
#include "kernels/common/convlstm_desc.h"
#include "kernels/common/dropout_desc.h"
#include "kernels/common/elementwise_desc.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/common/index_desc.h"
#include "kernels/common/lstm_cell.h"
#include "kernels/common/nll_desc.h"
#include "kernels/common/norm_desc.h"
#include "kernels/common/optim_desc.h"
#include "kernels/common/pool_desc.h"
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

  // Memory. Copies and memset run on the current stream; memcpy_h2d and memcpy_d2h return once
  // that stream has finished them, so the host buffer may be reused or read.
  int (*malloc)(void** ptr, size_t bytes);
  int (*free)(void* ptr);
  int (*memcpy_h2d)(void* dst, const void* src, size_t bytes);
  int (*memcpy_d2h)(void* dst, const void* src, size_t bytes);
  int (*memcpy_d2d)(void* dst, const void* src, size_t bytes);
  int (*memset)(void* ptr, int value, size_t bytes);

  // Streams and events: handles are the backend's cudaStream_t / cudaEvent_t, null is the
  // default stream. New streams are blocking: they order with work on the default stream.
  int (*stream_create)(void** stream);
  int (*stream_destroy)(void* stream);
  int (*stream_synchronize)(void* stream);
  // Makes stream the one this host thread's launches and copies use from now on.
  int (*set_stream)(void* stream);
  int (*event_create)(void** event);
  int (*event_destroy)(void* event);
  int (*event_record)(void* event, void* stream);
  // Work queued on stream after this call waits until the event's recorded work is done.
  int (*stream_wait_event)(void* stream, void* event);
  int (*event_synchronize)(void* event);

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
  // Register-tiled SIMT GEMM (kernels/cuda/gemm_tiled.cu, v3) and the tf32 tensor-core one
  // (kernels/cuda/gemm_tensor_core.cu, v4: inputs rounded to tf32, so opt-in only).
  int (*gemm_v3_f32)(const kernels::GemmDesc& d, const float* a, const float* b, float* c);
  int (*gemm_v4_tf32_f32)(const kernels::GemmDesc& d, const float* a, const float* b, float* c);
  // The fused LSTM cell forward and backward (kernels/cuda/lstm_cell.h; lengths on the device).
  int (*lstm_cell_forward_f32)(const kernels::LstmCellDesc& d, const int64_t* lengths,
                               const float* gates, const float* c_prev, const float* h_prev,
                               float* act, float* c, float* h, float* y);
  int (*lstm_cell_backward_f32)(const kernels::LstmCellDesc& d, const int64_t* lengths,
                                const float* act, const float* c_prev, const float* c,
                                const float* dy, float* dh, float* dc, float* dgates);
  // Max/min (first extremum; arg may be null) and the scatter of their backward (reduce.h).
  int (*reduce_extremum_f32)(const kernels::ReduceDesc& d, const float* in, float* out,
                             int64_t* arg, bool is_max);
  int (*scatter_to_arg_f32)(const kernels::ReduceDesc& d, const float* grad_out, const int64_t* arg,
                            float* grad_in);
  // out = op(a, s), or op(s, a) when scalar_first, with s a kernel argument (elementwise.h).
  int (*binary_scalar_f32)(kernels::BinaryOp op, kernels::ElementwiseParams p,
                           const kernels::StridedDesc& d, const float* a, float s,
                           bool scalar_first, float* out);
  // Strided conversions and copies of other dtypes (cast.h).
  int (*cast_f32_from_u8)(const kernels::StridedDesc& d, const uint8_t* in, float* out);
  int (*cast_f32_from_i64)(const kernels::StridedDesc& d, const int64_t* in, float* out);
  int (*copy_i64)(const kernels::StridedDesc& d, const int64_t* in, int64_t* out);
  int (*copy_u8)(const kernels::StridedDesc& d, const uint8_t* in, uint8_t* out);
  // Marks the first target position that is neither a class nor ignore_index (loss.h).
  int (*class_target_check)(const kernels::NllDesc& d, const int64_t* target, uint64_t* first_bad);
  // Negative log-likelihood forward and backward (loss.h).
  int (*nll_forward_f32)(const kernels::NllDesc& d, const float* logp, const int64_t* target,
                         const float* weight, float* loss, float* wsum);
  int (*nll_backward_f32)(const kernels::NllDesc& d, const int64_t* target, const float* weight,
                          const float* dloss, float* dlogp);
  // Cross-entropy on logits, fused with weights and label smoothing eps (loss.h).
  int (*cross_entropy_forward_f32)(const kernels::NllDesc& d, float eps, const float* x,
                                   const int64_t* target, const float* weight, float* loss,
                                   float* wsum);
  int (*cross_entropy_backward_f32)(const kernels::NllDesc& d, float eps, const float* x,
                                    const int64_t* target, const float* weight, const float* dloss,
                                    float* dx);
  // Binary cross-entropy on logits per element (operands broadcast to n; null for ones).
  int (*bce_with_logits_forward_f32)(int64_t n, const float* x, const float* y, const float* w,
                                     const float* pw, const float* m, float* loss);
  int (*bce_with_logits_backward_f32)(int64_t n, const float* x, const float* y, const float* w,
                                      const float* pw, const float* m, const float* dloss,
                                      float* dx);
  // Fused optimiser updates (optim.h).
  int (*sgd_step_f32)(const kernels::SgdDesc& d, float* param, const float* grad, float* buf);
  int (*adam_step_f32)(const kernels::AdamDesc& d, float* param, const float* grad, float* m,
                       float* v, float* vmax);
  int (*rmsprop_step_f32)(const kernels::RmspropDesc& d, float* param, const float* grad,
                          float* square_avg, float* grad_avg, float* buf);
  // Global 2-norm clipping in two passes, the scale kept on the device (clip.h).
  int (*clip_partial_count)(int64_t n);
  int (*clip_partial_sumsq_f32)(const float* g, int64_t n, double* partials);
  int (*clip_norm_scale)(const double* partials, int64_t count, double max_norm, double* out);
  int (*clip_scale_f32)(float* g, int64_t n, const double* scale);

  // Dropout forward (and backward, on dy) with the Philox dropout stream (dropout.h).
  int (*dropout_f32)(const kernels::DropoutDesc& d, const float* x, float* y);
  // Pooling (pool.h).
  int (*max_pool_forward_f32)(const kernels::PoolDesc& d, const float* x, float* y, int64_t* idx);
  int (*max_pool_backward_f32)(const kernels::PoolDesc& d, const float* dy, const int64_t* idx,
                               float* dx);
  int (*avg_pool_forward_f32)(const kernels::PoolDesc& d, const float* x, float* y);
  int (*avg_pool_backward_f32)(const kernels::PoolDesc& d, const float* dy, float* dx);
  int (*adaptive_avg_pool_forward_f32)(const kernels::PoolDesc& d, const float* x, float* y);
  int (*adaptive_avg_pool_backward_f32)(const kernels::PoolDesc& d, const float* dy, float* dx);
  // Batch norm (batch_norm.h).
  int (*batch_norm_train_f32)(const kernels::BatchNormDesc& d, const float* x, const float* weight,
                              const float* bias, float* y, float* mean, float* var, float* invstd);
  int (*batch_norm_eval_f32)(const kernels::BatchNormDesc& d, const float* x, const float* mean,
                             const float* var, const float* weight, const float* bias, float* y);
  int (*batch_norm_backward_f32)(const kernels::BatchNormDesc& d, const float* x, const float* dy,
                                 const float* mean, const float* invstd, const float* weight,
                                 bool training, float* dx, float* dweight, float* dbias);
  // The simple convolution (conv_naive.h, v1).
  int (*conv_forward_f32)(const kernels::ConvDesc& d, const float* x, const float* w,
                          const float* bias, float* y);
  int (*conv_backward_data_f32)(const kernels::ConvDesc& d, const float* dy, const float* w,
                                float* dx);
  int (*conv_backward_weights_f32)(const kernels::ConvDesc& d, const float* x, const float* dy,
                                   float* dw, float* dbias);
  // Implicit-GEMM convolution (conv_igemm.h, v2); backward-weights takes a device workspace of
  // conv_igemm_workspace_bytes(d) bytes.
  int (*conv_igemm_forward_f32)(const kernels::ConvDesc& d, const float* x, const float* w,
                                const float* bias, float* y);
  int (*conv_igemm_backward_data_f32)(const kernels::ConvDesc& d, const float* dy, const float* w,
                                      float* dx);
  int (*conv_igemm_backward_weights_f32)(const kernels::ConvDesc& d, const float* x,
                                         const float* dy, float* dw, float* dbias,
                                         float* workspace);
  size_t (*conv_igemm_workspace_bytes)(const kernels::ConvDesc& d);
  // Batch norm v2, several blocks per channel (batch_norm.h), with a device workspace of
  // batch_norm_workspace_bytes(d) bytes.
  int (*batch_norm_v2_train_f32)(const kernels::BatchNormDesc& d, const float* x,
                                 const float* weight, const float* bias, float* y, float* mean,
                                 float* var, float* invstd, float* workspace);
  int (*batch_norm_v2_backward_f32)(const kernels::BatchNormDesc& d, const float* x,
                                    const float* dy, const float* mean, const float* invstd,
                                    const float* weight, bool training, float* dx, float* dweight,
                                    float* dbias, float* workspace);
  size_t (*batch_norm_workspace_bytes)(const kernels::BatchNormDesc& d);
  int64_t (*batch_norm_splits)(const kernels::BatchNormDesc& d);
  // Padded targets set to ignore_index where keep is 0 (loss.h).
  int (*mask_targets_i64)(int64_t n, const int64_t* target, const float* keep, int64_t ignore_index,
                          int64_t* out);
  // Sequence-loss padding weights from lengths or a mask, checked on the device (loss.h).
  int (*length_padding_f32)(int64_t n, int64_t steps, const int64_t* lengths, float* keep,
                            uint64_t* first_bad);
  int (*mask_padding_f32)(int64_t n, const uint8_t* mask_u8, const float* mask_f32, float* keep,
                          uint64_t* first_bad);
  // The bf16 tensor-core GEMMs (gemm_tensor_core.h: v5, v6 with ldmatrix).
  int (*gemm_v5_bf16_f32)(const kernels::GemmDesc& d, const float* a, const float* b, float* c);
  int (*gemm_v6_bf16_ldmatrix_f32)(const kernels::GemmDesc& d, const float* a, const float* b,
                                   float* c);
  // Implicit-GEMM convolution on tensor cores (conv_igemm.h: v3 tf32, v4 bf16); backward-weights
  // takes the workspace of conv_igemm_workspace_bytes(d) bytes, as v2's.
  int (*conv_igemm_tf32_forward_f32)(const kernels::ConvDesc& d, const float* x, const float* w,
                                     const float* bias, float* y);
  int (*conv_igemm_tf32_backward_data_f32)(const kernels::ConvDesc& d, const float* dy,
                                           const float* w, float* dx);
  int (*conv_igemm_tf32_backward_weights_f32)(const kernels::ConvDesc& d, const float* x,
                                              const float* dy, float* dw, float* dbias,
                                              float* workspace);
  int (*conv_igemm_bf16_forward_f32)(const kernels::ConvDesc& d, const float* x, const float* w,
                                     const float* bias, float* y);
  int (*conv_igemm_bf16_backward_data_f32)(const kernels::ConvDesc& d, const float* dy,
                                           const float* w, float* dx);
  int (*conv_igemm_bf16_backward_weights_f32)(const kernels::ConvDesc& d, const float* x,
                                              const float* dy, float* dw, float* dbias,
                                              float* workspace);
  // The small-C first-layer forward (conv_first_layer.h) and whether it takes d.
  int (*conv_first_layer_forward_f32)(const kernels::ConvDesc& d, const float* x, const float* w,
                                      const float* bias, float* y);
  bool (*conv_first_layer_applies)(const kernels::ConvDesc& d);
  // The fused ConvLSTM layer, forward and backward (convlstm_fused.h; lengths on the device), with
  // a device workspace of convlstm_workspace_bytes(d) bytes.
  int (*convlstm_forward_f32)(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                              const float* x, const float* w_x, const float* w_h, const float* bias,
                              const kernels::ConvLstmPeepholes& peep, const float* h0,
                              const float* c0, const kernels::ConvLstmBuffers& out,
                              void* workspace);
  int (*convlstm_backward_f32)(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                               const float* x, const float* w_x, const float* w_h,
                               const kernels::ConvLstmPeepholes& peep,
                               const kernels::ConvLstmBuffers& fwd, const float* dy,
                               const kernels::ConvLstmGrads& g, void* workspace);
  size_t (*convlstm_workspace_bytes)(const kernels::ConvLstmDesc& d);
  // Layer norm (layer_norm.h); the backward takes a device workspace of
  // layer_norm_workspace_bytes(d) bytes.
  int (*layer_norm_forward_f32)(const kernels::LayerNormDesc& d, const float* x,
                                const float* weight, const float* bias, float* y, float* mean,
                                float* rstd);
  int (*layer_norm_backward_f32)(const kernels::LayerNormDesc& d, const float* x, const float* dy,
                                 const float* mean, const float* rstd, const float* weight,
                                 float* dx, float* dweight, float* dbias, float* workspace);
  size_t (*layer_norm_workspace_bytes)(const kernels::LayerNormDesc& d);
  // Indexing along the middle axis (index.h): selects on f32 and i64, deterministic
  // accumulating backwards on f32.
  int (*index_select_f32)(const kernels::IndexDesc& d, const float* in, const int64_t* idx,
                          float* out);
  int (*index_select_i64)(const kernels::IndexDesc& d, const int64_t* in, const int64_t* idx,
                          int64_t* out);
  int (*gather_f32)(const kernels::IndexDesc& d, const float* in, const int64_t* idx, float* out);
  int (*gather_i64)(const kernels::IndexDesc& d, const int64_t* in, const int64_t* idx,
                    int64_t* out);
  int (*index_add_f32)(const kernels::IndexDesc& d, const float* grad_out, const int64_t* idx,
                       float* grad_in);
  int (*scatter_add_f32)(const kernels::IndexDesc& d, const float* grad_out, const int64_t* idx,
                         float* grad_in);
  // The persistent LSTM forward's steps (lstm_persistent.h): whether its automatic plan takes
  // (batch, hidden) on the current device, and the steps over the forward buffers (act holding
  // the input projection plus bias, hbuf and cbuf the initial state in their first slot).
  bool (*lstm_persistent_fits)(int64_t batch, int64_t hidden);
  int (*lstm_persistent_steps_f32)(int64_t steps, int64_t batch, int64_t hidden, bool reverse,
                                   const int64_t* lengths, const float* w_hh, float* act,
                                   float* hbuf, float* cbuf, float* y);
};

}  // namespace signet

// One table per build of kernels/cuda (declared here so the engine may name both).
namespace signet::cuda {
const GpuBackend& backend();
}
namespace signet::simt_cuda {
const GpuBackend& backend();
}
