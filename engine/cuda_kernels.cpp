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

void cuda_copy_f32(const kernels::StridedDesc& d, DType from, const void* src, void* dst) {
  SIGNET_CHECK(from == DType::f32, "copy: on cuda only f32 -> f32 copies run on the device (got ",
               dtype_name(from), " -> f32); convert on the cpu");
  cuda_check(cuda_backend().unary_f32(kernels::UnaryOp::copy, {}, d, static_cast<const float*>(src),
                                      static_cast<float*>(dst)),
             "cuda copy kernel");
}

void cuda_fill_f32(const kernels::StridedDesc& d, double value, void* out) {
  cuda_check(cuda_backend().fill_f32(d, static_cast<float>(value), static_cast<float*>(out)),
             "cuda fill kernel");
}

void cuda_reduce_f32(kernels::ReduceOp op, const kernels::ReduceDesc& d, const void* in, void* out,
                     int64_t*) {
  SIGNET_CHECK(op == kernels::ReduceOp::sum,
               "reduce: on cuda only sum (and mean) run on the device; max/min come later");
  cuda_check(
      cuda_backend().reduce_sum_f32(d, static_cast<const float*>(in), static_cast<float*>(out)),
      "cuda sum kernel");
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

}  // namespace signet
