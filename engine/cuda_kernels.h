// The cuda implementations registered in the dispatch: adapters from the untyped dispatch
// signatures to the chosen backend's kernels (kernels/cuda/backend.h), each checking the launch.
#pragma once
#include <cstdint>

#include "engine/dtype.h"
#include "kernels/common/convlstm_desc.h"
#include "kernels/common/elementwise_desc.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/common/lstm_cell.h"
#include "kernels/common/nll_desc.h"
#include "kernels/common/optim_desc.h"
#include "kernels/common/reduce_desc.h"
#include "kernels/common/softmax_desc.h"
#include "kernels/common/strided.h"

namespace signet {

// out = op(a) on f32 device pointers.
void cuda_unary_f32(kernels::UnaryOp op, kernels::ElementwiseParams p,
                    const kernels::StridedDesc& d, const void* a, void* out);
// out = op(a, b) on f32 device pointers.
void cuda_binary_f32(kernels::BinaryOp op, kernels::ElementwiseParams p,
                     const kernels::StridedDesc& d, const void* a, const void* b, void* out);
// out = op(a, s) (op(s, a) when scalar_first) on f32 device pointers, s passed by value.
void cuda_binary_scalar_f32(kernels::BinaryOp op, kernels::ElementwiseParams p,
                            const kernels::StridedDesc& d, const void* a, double s,
                            bool scalar_first, void* out);
// Strided copy into f32 on the device from f32, u8 or i64; other source dtypes (f64, bf16) are
// an error naming them.
void cuda_copy_f32(const kernels::StridedDesc& d, DType from, const void* src, void* dst);
// Strided i64 -> i64 copy on the device; other source dtypes are an error naming them.
void cuda_copy_i64(const kernels::StridedDesc& d, DType from, const void* src, void* dst);
// Strided u8 -> u8 copy on the device; other source dtypes are an error naming them.
void cuda_copy_u8(const kernels::StridedDesc& d, DType from, const void* src, void* dst);
// Fills an f32 strided space with value.
void cuda_fill_f32(const kernels::StridedDesc& d, double value, void* out);
// Sum, max or min reduction on f32; arg (a device i64 pointer or null) gets max/min's index.
void cuda_reduce_f32(kernels::ReduceOp op, const kernels::ReduceDesc& d, const void* in, void* out,
                     int64_t* arg);
// Adds grad_out into grad_in at the positions arg names (the max/min backward) on f32.
void cuda_scatter_to_arg_f32(const kernels::ReduceDesc& d, const void* grad_out, const int64_t* arg,
                             void* grad_in);
// Softmax (log-softmax when Log) forward on f32 device pointers.
template <bool Log>
void cuda_softmax_forward_f32(const kernels::SoftmaxDesc& d, const void* x, void* y);
// Softmax (log-softmax when Log) backward on f32 device pointers.
template <bool Log>
void cuda_softmax_backward_f32(const kernels::SoftmaxDesc& d, const void* y, const void* dy,
                               void* dx);
// C = alpha * op(A) op(B) + beta * C on f32 device pointers (the simple v1_naive kernel).
void cuda_gemm_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c);
// The register-tiled GEMM (v3) and the tf32 tensor-core GEMM (v4).
void cuda_gemm_v3_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c);
void cuda_gemm_v4_tf32_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c);
// The bf16 tensor-core GEMMs (v5; v6 with its fragments through ldmatrix).
void cuda_gemm_v5_bf16_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c);
void cuda_gemm_v6_bf16_ldmatrix_f32(const kernels::GemmDesc& d, const void* a, const void* b,
                                    void* c);
// The fused LSTM cell forward and backward (lengths: a device pointer or null).
void cuda_lstm_cell_forward_f32(const kernels::LstmCellDesc& d, const int64_t* lengths,
                                const void* gates, const void* c_prev, const void* h_prev,
                                void* act, void* c, void* h, void* y);
void cuda_lstm_cell_backward_f32(const kernels::LstmCellDesc& d, const int64_t* lengths,
                                 const void* act, const void* c_prev, const void* c, const void* dy,
                                 void* dh, void* dc, void* dgates);
// The fused ConvLSTM layer forward and backward (lengths: a device pointer or null), and the
// device workspace bytes both take.
void cuda_convlstm_forward_f32(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                               const void* x, const void* w_x, const void* w_h, const void* bias,
                               const kernels::ConvLstmPeepholes& peep, const float* h0,
                               const float* c0, const kernels::ConvLstmBuffers& out,
                               void* workspace);
void cuda_convlstm_backward_f32(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                                const void* x, const void* w_x, const void* w_h,
                                const kernels::ConvLstmPeepholes& peep,
                                const kernels::ConvLstmBuffers& fwd, const void* dy,
                                const kernels::ConvLstmGrads& g, void* workspace);
size_t cuda_convlstm_workspace_bytes(const kernels::ConvLstmDesc& d);

// Negative log-likelihood forward on f32 device pointers (target: device i64; weight may be null).
void cuda_nll_forward_f32(const kernels::NllDesc& d, const void* logp, const int64_t* target,
                          const void* weight, void* loss, void* wsum);
// Negative log-likelihood backward on f32 device pointers.
void cuda_nll_backward_f32(const kernels::NllDesc& d, const int64_t* target, const void* weight,
                           const void* dloss, void* dlogp);
// Fused cross-entropy on f32 logits (weights, label smoothing eps) on device pointers.
void cuda_cross_entropy_forward_f32(const kernels::NllDesc& d, double eps, const void* x,
                                    const int64_t* target, const void* weight, void* loss,
                                    void* wsum);
// Its backward: dx from the logits and dloss on f32 device pointers.
void cuda_cross_entropy_backward_f32(const kernels::NllDesc& d, double eps, const void* x,
                                     const int64_t* target, const void* weight, const void* dloss,
                                     void* dx);
// Binary cross-entropy on f32 logits per element (operands broadcast to n; null for ones).
void cuda_bce_with_logits_forward_f32(int64_t n, const void* x, const void* y, const void* w,
                                      const void* pw, const void* m, void* loss);
// Its backward: dx from the logits and dloss on f32 device pointers.
void cuda_bce_with_logits_backward_f32(int64_t n, const void* x, const void* y, const void* w,
                                       const void* pw, const void* m, const void* dloss, void* dx);
// out = target where keep (f32, target's n elements) is nonzero, else ignore_index; device
// pointers.
void cuda_mask_targets_i64(int64_t n, const int64_t* target, const void* keep, int64_t ignore_index,
                           int64_t* out);
// Fused SGD step on f32 device pointers.
void cuda_sgd_step_f32(const kernels::SgdDesc& d, void* param, const void* grad, void* buf);
// Fused Adam / AdamW step on f32 device pointers.
void cuda_adam_step_f32(const kernels::AdamDesc& d, void* param, const void* grad, void* m, void* v,
                        void* vmax);
// Fused RMSProp step on f32 device pointers.
void cuda_rmsprop_step_f32(const kernels::RmspropDesc& d, void* param, const void* grad,
                           void* square_avg, void* grad_avg, void* buf);
// Partial slots pass 1 of the cuda global-norm clip uses for a gradient of n elements.
int cuda_clip_partial_count(int64_t n);
// Pass 1 of the cuda global-norm clip: g's sums of squares into partials (device doubles).
void cuda_clip_partial_sumsq_f32(const void* g, int64_t n, double* partials);
// Pass 2: out[0] = the global norm, out[1] = the clipping scale (device doubles).
void cuda_clip_norm_scale(const double* partials, int64_t count, double max_norm, double* out);
// g *= the device scalar scale, on f32 device pointers.
void cuda_clip_scale_f32(void* g, int64_t n, const double* scale);
// The persistent LSTM forward steps (kernels/cuda/lstm_persistent.h): whether its automatic plan
// takes (batch, hidden) on the current device, and its run over one layer's forward buffers (act
// holding the input projection plus bias, hbuf and cbuf the initial state in their first slot;
// lengths a device pointer or null, y may be null).
bool cuda_lstm_persistent_fits(int64_t batch, int64_t hidden);
void cuda_lstm_persistent_steps_f32(int64_t steps, int64_t batch, int64_t hidden, bool reverse,
                                    const int64_t* lengths, const void* w_hh, void* act, void* hbuf,
                                    void* cbuf, void* y);

}  // namespace signet
