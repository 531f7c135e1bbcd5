#include "engine/cuda_kernels.h"

#include "engine/cuda_device.h"
#include "engine/error.h"

namespace signet {

void cuda_unary_f32(kernels::UnaryOp op, kernels::ElementwiseParams p,
                    const kernels::StridedDesc& d, const void* a, void* out) {
  cuda_check(
      cuda_backend().unary_f32(op, p, d, static_cast<const float*>(a), static_cast<float*>(out)),
      "cuda unary kernel");
}

void cuda_binary_f32(kernels::BinaryOp op, kernels::ElementwiseParams p,
                     const kernels::StridedDesc& d, const void* a, const void* b, void* out) {
  cuda_check(cuda_backend().binary_f32(op, p, d, static_cast<const float*>(a),
                                       static_cast<const float*>(b), static_cast<float*>(out)),
             "cuda binary kernel");
}

void cuda_binary_scalar_f32(kernels::BinaryOp op, kernels::ElementwiseParams p,
                            const kernels::StridedDesc& d, const void* a, double s,
                            bool scalar_first, void* out) {
  cuda_check(cuda_backend().binary_scalar_f32(op, p, d, static_cast<const float*>(a),
                                              static_cast<float>(s), scalar_first,
                                              static_cast<float*>(out)),
             "cuda binary kernel with a scalar");
}

void cuda_copy_f32(const kernels::StridedDesc& d, DType from, const void* src, void* dst) {
  float* out = static_cast<float*>(dst);
  switch (from) {
    case DType::f32:
      cuda_check(cuda_backend().unary_f32(kernels::UnaryOp::copy, {}, d,
                                          static_cast<const float*>(src), out),
                 "cuda copy kernel");
      return;
    case DType::u8:
      cuda_check(cuda_backend().cast_f32_from_u8(d, static_cast<const uint8_t*>(src), out),
                 "cuda u8 -> f32 kernel");
      return;
    case DType::i64:
      cuda_check(cuda_backend().cast_f32_from_i64(d, static_cast<const int64_t*>(src), out),
                 "cuda i64 -> f32 kernel");
      return;
    default:
      SIGNET_FAIL("copy: on cuda only f32, u8 and i64 convert to f32 on the device (got ",
                  dtype_name(from), " -> f32); convert on the cpu");
  }
}

void cuda_copy_i64(const kernels::StridedDesc& d, DType from, const void* src, void* dst) {
  SIGNET_CHECK(from == DType::i64, "copy: on cuda only i64 copies into i64 on the device (got ",
               dtype_name(from), " -> i64); convert on the cpu");
  cuda_check(
      cuda_backend().copy_i64(d, static_cast<const int64_t*>(src), static_cast<int64_t*>(dst)),
      "cuda i64 copy kernel");
}

void cuda_copy_u8(const kernels::StridedDesc& d, DType from, const void* src, void* dst) {
  SIGNET_CHECK(from == DType::u8, "copy: on cuda only u8 copies into u8 on the device (got ",
               dtype_name(from), " -> u8); convert on the cpu");
  cuda_check(
      cuda_backend().copy_u8(d, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst)),
      "cuda u8 copy kernel");
}

void cuda_fill_f32(const kernels::StridedDesc& d, double value, void* out) {
  cuda_check(cuda_backend().fill_f32(d, static_cast<float>(value), static_cast<float*>(out)),
             "cuda fill kernel");
}

void cuda_reduce_f32(kernels::ReduceOp op, const kernels::ReduceDesc& d, const void* in, void* out,
                     int64_t* arg) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  if (op == kernels::ReduceOp::sum) {
    cuda_check(cuda_backend().reduce_sum_f32(d, x, y), "cuda sum kernel");
    return;
  }
  cuda_check(cuda_backend().reduce_extremum_f32(d, x, y, arg, op == kernels::ReduceOp::max),
             "cuda max/min kernel");
}

void cuda_scatter_to_arg_f32(const kernels::ReduceDesc& d, const void* grad_out, const int64_t* arg,
                             void* grad_in) {
  cuda_check(cuda_backend().scatter_to_arg_f32(d, static_cast<const float*>(grad_out), arg,
                                               static_cast<float*>(grad_in)),
             "cuda scatter kernel");
}

template <bool Log>
void cuda_softmax_forward_f32(const kernels::SoftmaxDesc& d, const void* x, void* y) {
  cuda_check(cuda_backend().softmax_forward_f32(d, static_cast<const float*>(x),
                                                static_cast<float*>(y), Log),
             "cuda softmax kernel");
}
template void cuda_softmax_forward_f32<false>(const kernels::SoftmaxDesc&, const void*, void*);
template void cuda_softmax_forward_f32<true>(const kernels::SoftmaxDesc&, const void*, void*);

template <bool Log>
void cuda_softmax_backward_f32(const kernels::SoftmaxDesc& d, const void* y, const void* dy,
                               void* dx) {
  cuda_check(cuda_backend().softmax_backward_f32(d, static_cast<const float*>(y),
                                                 static_cast<const float*>(dy),
                                                 static_cast<float*>(dx), Log),
             "cuda softmax backward kernel");
}
template void cuda_softmax_backward_f32<false>(const kernels::SoftmaxDesc&, const void*,
                                               const void*, void*);
template void cuda_softmax_backward_f32<true>(const kernels::SoftmaxDesc&, const void*, const void*,
                                              void*);

void cuda_gemm_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c) {
  cuda_check(cuda_backend().gemm_f32(d, static_cast<const float*>(a), static_cast<const float*>(b),
                                     static_cast<float*>(c)),
             "cuda gemm kernel (v1_naive)");
}

void cuda_gemm_v3_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c) {
  cuda_check(cuda_backend().gemm_v3_f32(d, static_cast<const float*>(a),
                                        static_cast<const float*>(b), static_cast<float*>(c)),
             "cuda gemm kernel (v3_register)");
}

void cuda_gemm_v4_tf32_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c) {
  cuda_check(cuda_backend().gemm_v4_tf32_f32(d, static_cast<const float*>(a),
                                             static_cast<const float*>(b), static_cast<float*>(c)),
             "cuda gemm kernel (v4_tf32)");
}

void cuda_gemm_v5_bf16_f32(const kernels::GemmDesc& d, const void* a, const void* b, void* c) {
  cuda_check(cuda_backend().gemm_v5_bf16_f32(d, static_cast<const float*>(a),
                                             static_cast<const float*>(b), static_cast<float*>(c)),
             "cuda gemm kernel (v5_bf16)");
}

void cuda_gemm_v6_bf16_ldmatrix_f32(const kernels::GemmDesc& d, const void* a, const void* b,
                                    void* c) {
  cuda_check(
      cuda_backend().gemm_v6_bf16_ldmatrix_f32(
          d, static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(c)),
      "cuda gemm kernel (v6_bf16_ldmatrix)");
}

void cuda_lstm_cell_forward_f32(const kernels::LstmCellDesc& d, const int64_t* lengths,
                                const void* gates, const void* c_prev, const void* h_prev,
                                void* act, void* c, void* h, void* y) {
  auto f = [](const void* p) { return static_cast<const float*>(p); };
  auto m = [](void* p) { return static_cast<float*>(p); };
  cuda_check(cuda_backend().lstm_cell_forward_f32(d, lengths, f(gates), f(c_prev), f(h_prev),
                                                  m(act), m(c), m(h), m(y)),
             "cuda lstm cell kernel");
}

void cuda_lstm_cell_backward_f32(const kernels::LstmCellDesc& d, const int64_t* lengths,
                                 const void* act, const void* c_prev, const void* c, const void* dy,
                                 void* dh, void* dc, void* dgates) {
  auto f = [](const void* p) { return static_cast<const float*>(p); };
  auto m = [](void* p) { return static_cast<float*>(p); };
  cuda_check(cuda_backend().lstm_cell_backward_f32(d, lengths, f(act), f(c_prev), f(c), f(dy),
                                                   m(dh), m(dc), m(dgates)),
             "cuda lstm cell backward kernel");
}

void cuda_convlstm_forward_f32(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                               const void* x, const void* w_x, const void* w_h, const void* bias,
                               const kernels::ConvLstmPeepholes& peep, const float* h0,
                               const float* c0, const kernels::ConvLstmBuffers& out,
                               void* workspace) {
  auto f = [](const void* p) { return static_cast<const float*>(p); };
  cuda_check(cuda_backend().convlstm_forward_f32(d, lengths, f(x), f(w_x), f(w_h), f(bias), peep,
                                                 h0, c0, out, workspace),
             "cuda convlstm forward kernels");
}

void cuda_convlstm_backward_f32(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                                const void* x, const void* w_x, const void* w_h,
                                const kernels::ConvLstmPeepholes& peep,
                                const kernels::ConvLstmBuffers& fwd, const void* dy,
                                const kernels::ConvLstmGrads& g, void* workspace) {
  auto f = [](const void* p) { return static_cast<const float*>(p); };
  cuda_check(cuda_backend().convlstm_backward_f32(d, lengths, f(x), f(w_x), f(w_h), peep, fwd,
                                                  f(dy), g, workspace),
             "cuda convlstm backward kernels");
}

size_t cuda_convlstm_workspace_bytes(const kernels::ConvLstmDesc& d) {
  return cuda_backend().convlstm_workspace_bytes(d);
}

void cuda_nll_forward_f32(const kernels::NllDesc& d, const void* logp, const int64_t* target,
                          const void* weight, void* loss, void* wsum) {
  cuda_check(cuda_backend().nll_forward_f32(d, static_cast<const float*>(logp), target,
                                            static_cast<const float*>(weight),
                                            static_cast<float*>(loss), static_cast<float*>(wsum)),
             "cuda nll_loss kernel");
}

void cuda_nll_backward_f32(const kernels::NllDesc& d, const int64_t* target, const void* weight,
                           const void* dloss, void* dlogp) {
  cuda_check(
      cuda_backend().nll_backward_f32(d, target, static_cast<const float*>(weight),
                                      static_cast<const float*>(dloss), static_cast<float*>(dlogp)),
      "cuda nll_loss backward kernel");
}

void cuda_cross_entropy_forward_f32(const kernels::NllDesc& d, double eps, const void* x,
                                    const int64_t* target, const void* weight, void* loss,
                                    void* wsum) {
  cuda_check(
      cuda_backend().cross_entropy_forward_f32(
          d, static_cast<float>(eps), static_cast<const float*>(x), target,
          static_cast<const float*>(weight), static_cast<float*>(loss), static_cast<float*>(wsum)),
      "cuda cross_entropy kernel");
}

void cuda_cross_entropy_backward_f32(const kernels::NllDesc& d, double eps, const void* x,
                                     const int64_t* target, const void* weight, const void* dloss,
                                     void* dx) {
  cuda_check(cuda_backend().cross_entropy_backward_f32(
                 d, static_cast<float>(eps), static_cast<const float*>(x), target,
                 static_cast<const float*>(weight), static_cast<const float*>(dloss),
                 static_cast<float*>(dx)),
             "cuda cross_entropy backward kernel");
}

void cuda_bce_with_logits_forward_f32(int64_t n, const void* x, const void* y, const void* w,
                                      const void* pw, const void* m, void* loss) {
  cuda_check(cuda_backend().bce_with_logits_forward_f32(
                 n, static_cast<const float*>(x), static_cast<const float*>(y),
                 static_cast<const float*>(w), static_cast<const float*>(pw),
                 static_cast<const float*>(m), static_cast<float*>(loss)),
             "cuda binary_cross_entropy_with_logits kernel");
}

void cuda_bce_with_logits_backward_f32(int64_t n, const void* x, const void* y, const void* w,
                                       const void* pw, const void* m, const void* dloss, void* dx) {
  cuda_check(
      cuda_backend().bce_with_logits_backward_f32(
          n, static_cast<const float*>(x), static_cast<const float*>(y),
          static_cast<const float*>(w), static_cast<const float*>(pw), static_cast<const float*>(m),
          static_cast<const float*>(dloss), static_cast<float*>(dx)),
      "cuda binary_cross_entropy_with_logits backward kernel");
}

void cuda_mask_targets_i64(int64_t n, const int64_t* target, const void* keep, int64_t ignore_index,
                           int64_t* out) {
  cuda_check(cuda_backend().mask_targets_i64(n, target, static_cast<const float*>(keep),
                                             ignore_index, out),
             "cuda mask targets kernel");
}

void cuda_sgd_step_f32(const kernels::SgdDesc& d, void* param, const void* grad, void* buf) {
  cuda_check(cuda_backend().sgd_step_f32(d, static_cast<float*>(param),
                                         static_cast<const float*>(grad), static_cast<float*>(buf)),
             "cuda sgd_step kernel");
}

void cuda_adam_step_f32(const kernels::AdamDesc& d, void* param, const void* grad, void* m, void* v,
                        void* vmax) {
  cuda_check(cuda_backend().adam_step_f32(d, static_cast<float*>(param),
                                          static_cast<const float*>(grad), static_cast<float*>(m),
                                          static_cast<float*>(v), static_cast<float*>(vmax)),
             "cuda adam_step kernel");
}

void cuda_rmsprop_step_f32(const kernels::RmspropDesc& d, void* param, const void* grad,
                           void* square_avg, void* grad_avg, void* buf) {
  cuda_check(
      cuda_backend().rmsprop_step_f32(
          d, static_cast<float*>(param), static_cast<const float*>(grad),
          static_cast<float*>(square_avg), static_cast<float*>(grad_avg), static_cast<float*>(buf)),
      "cuda rmsprop_step kernel");
}

int cuda_clip_partial_count(int64_t n) {
  return cuda_backend().clip_partial_count(n);
}

void cuda_clip_partial_sumsq_f32(const void* g, int64_t n, double* partials) {
  cuda_check(cuda_backend().clip_partial_sumsq_f32(static_cast<const float*>(g), n, partials),
             "cuda clip_grad_norm_ pass 1 kernel");
}

void cuda_clip_norm_scale(const double* partials, int64_t count, double max_norm, double* out) {
  cuda_check(cuda_backend().clip_norm_scale(partials, count, max_norm, out),
             "cuda clip_grad_norm_ pass 2 kernel");
}

void cuda_clip_scale_f32(void* g, int64_t n, const double* scale) {
  cuda_check(cuda_backend().clip_scale_f32(static_cast<float*>(g), n, scale),
             "cuda clip_grad_norm_ scale kernel");
}

bool cuda_lstm_persistent_fits(int64_t batch, int64_t hidden) {
  return cuda_backend().lstm_persistent_fits(batch, hidden);
}

void cuda_lstm_persistent_steps_f32(int64_t steps, int64_t batch, int64_t hidden, bool reverse,
                                    const int64_t* lengths, const void* w_hh, void* act, void* hbuf,
                                    void* cbuf, void* y) {
  auto m = [](void* p) { return static_cast<float*>(p); };
  cuda_check(cuda_backend().lstm_persistent_steps_f32(steps, batch, hidden, reverse, lengths,
                                                      static_cast<const float*>(w_hh), m(act),
                                                      m(hbuf), m(cbuf), m(y)),
             "cuda lstm persistent kernel");
}

}  // namespace signet
