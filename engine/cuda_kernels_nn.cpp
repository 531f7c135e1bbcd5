#include "engine/cuda_kernels_nn.h"

#include "engine/cuda_device.h"
#include "engine/error.h"
#include "engine/tensor.h"

namespace signet {
namespace {

// The f32 view of an untyped device pointer.
const float* f(const void* p) {
  return static_cast<const float*>(p);
}
// The f32 view of an untyped device pointer.
float* f(void* p) {
  return static_cast<float*>(p);
}

// A device workspace of bytes on the current device (undefined for 0), and its float pointer.
Tensor workspace(size_t bytes) {
  if (bytes == 0) return Tensor();
  return empty({static_cast<int64_t>(bytes)}, DType::u8, Device::cuda(cuda_current_device()));
}
float* ws_ptr(const Tensor& ws) {
  return ws.defined() ? static_cast<float*>(ws.raw_data()) : nullptr;
}

}  // namespace

void cuda_dropout_f32(const kernels::DropoutDesc& d, const void* x, void* y) {
  cuda_check(cuda_backend().dropout_f32(d, f(x), f(y)), "cuda dropout kernel");
}

void cuda_max_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y, int64_t* idx) {
  cuda_check(cuda_backend().max_pool_forward_f32(d, f(x), f(y), idx), "cuda max pool kernel");
}

void cuda_max_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, const int64_t* idx,
                                void* dx) {
  cuda_check(cuda_backend().max_pool_backward_f32(d, f(dy), idx, f(dx)),
             "cuda max pool backward kernel");
}

void cuda_avg_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y) {
  cuda_check(cuda_backend().avg_pool_forward_f32(d, f(x), f(y)), "cuda avg pool kernel");
}

void cuda_avg_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, void* dx) {
  cuda_check(cuda_backend().avg_pool_backward_f32(d, f(dy), f(dx)),
             "cuda avg pool backward kernel");
}

void cuda_adaptive_avg_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y) {
  cuda_check(cuda_backend().adaptive_avg_pool_forward_f32(d, f(x), f(y)),
             "cuda adaptive avg pool kernel");
}

void cuda_adaptive_avg_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, void* dx) {
  cuda_check(cuda_backend().adaptive_avg_pool_backward_f32(d, f(dy), f(dx)),
             "cuda adaptive avg pool backward kernel");
}

void cuda_batch_norm_train_f32(const kernels::BatchNormDesc& d, const void* x, const void* w,
                               const void* b, void* y, void* mean, void* var, void* invstd) {
  cuda_check(
      cuda_backend().batch_norm_train_f32(d, f(x), f(w), f(b), f(y), f(mean), f(var), f(invstd)),
      "cuda batch norm kernel");
}

void cuda_batch_norm_eval_f32(const kernels::BatchNormDesc& d, const void* x, const void* mean,
                              const void* var, const void* w, const void* b, void* y) {
  cuda_check(cuda_backend().batch_norm_eval_f32(d, f(x), f(mean), f(var), f(w), f(b), f(y)),
             "cuda batch norm eval kernel");
}

void cuda_batch_norm_backward_f32(const kernels::BatchNormDesc& d, const void* x, const void* dy,
                                  const void* mean, const void* invstd, const void* w,
                                  bool training, void* dx, void* dw, void* db) {
  cuda_check(cuda_backend().batch_norm_backward_f32(d, f(x), f(dy), f(mean), f(invstd), f(w),
                                                    training, f(dx), f(dw), f(db)),
             "cuda batch norm backward kernel");
}

void cuda_batch_norm_v2_train_f32(const kernels::BatchNormDesc& d, const void* x, const void* w,
                                  const void* b, void* y, void* mean, void* var, void* invstd) {
  const Tensor ws = workspace(cuda_backend().batch_norm_workspace_bytes(d));
  cuda_check(cuda_backend().batch_norm_v2_train_f32(d, f(x), f(w), f(b), f(y), f(mean), f(var),
                                                    f(invstd), ws_ptr(ws)),
             "cuda batch norm kernel (v2_split)");
}

void cuda_batch_norm_v2_backward_f32(const kernels::BatchNormDesc& d, const void* x, const void* dy,
                                     const void* mean, const void* invstd, const void* w,
                                     bool training, void* dx, void* dw, void* db) {
  const Tensor ws = workspace(cuda_backend().batch_norm_workspace_bytes(d));
  cuda_check(cuda_backend().batch_norm_v2_backward_f32(d, f(x), f(dy), f(mean), f(invstd), f(w),
                                                       training, f(dx), f(dw), f(db), ws_ptr(ws)),
             "cuda batch norm backward kernel (v2_split)");
}

void cuda_conv_forward_f32(const kernels::ConvDesc& d, const void* x, const void* w, const void* b,
                           void* y) {
  cuda_check(cuda_backend().conv_forward_f32(d, f(x), f(w), f(b), f(y)),
             "cuda conv kernel (v1_naive)");
}

void cuda_conv_backward_data_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                 void* dx) {
  cuda_check(cuda_backend().conv_backward_data_f32(d, f(dy), f(w), f(dx)),
             "cuda conv backward-data kernel (v1_naive)");
}

void cuda_conv_backward_weights_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                    void* dw, void* db) {
  cuda_check(cuda_backend().conv_backward_weights_f32(d, f(x), f(dy), f(dw), f(db)),
             "cuda conv backward-weights kernel (v1_naive)");
}

void cuda_conv_forward_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                 const void* b, void* y) {
  cuda_check(cuda_backend().conv_igemm_forward_f32(d, f(x), f(w), f(b), f(y)),
             "cuda conv kernel (v2_igemm)");
}

void cuda_conv_backward_data_igemm_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                       void* dx) {
  cuda_check(cuda_backend().conv_igemm_backward_data_f32(d, f(dy), f(w), f(dx)),
             "cuda conv backward-data kernel (v2_igemm)");
}

void cuda_conv_backward_weights_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                          void* dw, void* db) {
  const Tensor ws = workspace(cuda_backend().conv_igemm_workspace_bytes(d));
  cuda_check(
      cuda_backend().conv_igemm_backward_weights_f32(d, f(x), f(dy), f(dw), f(db), ws_ptr(ws)),
      "cuda conv backward-weights kernel (v2_igemm)");
}

template <bool Bf16>
void cuda_conv_forward_igemm_mma_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                     const void* b, void* y) {
  const GpuBackend& t = cuda_backend();
  cuda_check((Bf16 ? t.conv_igemm_bf16_forward_f32 : t.conv_igemm_tf32_forward_f32)(d, f(x), f(w),
                                                                                    f(b), f(y)),
             Bf16 ? "cuda conv kernel (v4_igemm_bf16)" : "cuda conv kernel (v3_igemm_tf32)");
}
template void cuda_conv_forward_igemm_mma_f32<false>(const kernels::ConvDesc&, const void*,
                                                     const void*, const void*, void*);
template void cuda_conv_forward_igemm_mma_f32<true>(const kernels::ConvDesc&, const void*,
                                                    const void*, const void*, void*);

template <bool Bf16>
void cuda_conv_backward_data_igemm_mma_f32(const kernels::ConvDesc& d, const void* dy,
                                           const void* w, void* dx) {
  const GpuBackend& t = cuda_backend();
  cuda_check((Bf16 ? t.conv_igemm_bf16_backward_data_f32 : t.conv_igemm_tf32_backward_data_f32)(
                 d, f(dy), f(w), f(dx)),
             Bf16 ? "cuda conv backward-data kernel (v4_igemm_bf16)"
                  : "cuda conv backward-data kernel (v3_igemm_tf32)");
}
template void cuda_conv_backward_data_igemm_mma_f32<false>(const kernels::ConvDesc&, const void*,
                                                           const void*, void*);
template void cuda_conv_backward_data_igemm_mma_f32<true>(const kernels::ConvDesc&, const void*,
                                                          const void*, void*);

template <bool Bf16>
void cuda_conv_backward_weights_igemm_mma_f32(const kernels::ConvDesc& d, const void* x,
                                              const void* dy, void* dw, void* db) {
  const GpuBackend& t = cuda_backend();
  const Tensor ws = workspace(t.conv_igemm_workspace_bytes(d));
  cuda_check(
      (Bf16 ? t.conv_igemm_bf16_backward_weights_f32 : t.conv_igemm_tf32_backward_weights_f32)(
          d, f(x), f(dy), f(dw), f(db), ws_ptr(ws)),
      Bf16 ? "cuda conv backward-weights kernel (v4_igemm_bf16)"
           : "cuda conv backward-weights kernel (v3_igemm_tf32)");
}
template void cuda_conv_backward_weights_igemm_mma_f32<false>(const kernels::ConvDesc&, const void*,
                                                              const void*, void*, void*);
template void cuda_conv_backward_weights_igemm_mma_f32<true>(const kernels::ConvDesc&, const void*,
                                                             const void*, void*, void*);

void cuda_conv_forward_first_layer_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                       const void* b, void* y) {
  cuda_check(cuda_backend().conv_first_layer_forward_f32(d, f(x), f(w), f(b), f(y)),
             "cuda conv kernel (first_layer)");
}

bool cuda_conv_first_layer_applies(const kernels::ConvDesc& d) {
  return cuda_backend().conv_first_layer_applies(d);
}

void cuda_layer_norm_forward_f32(const kernels::LayerNormDesc& d, const void* x, const void* w,
                                 const void* b, void* y, void* mean, void* rstd) {
  cuda_check(cuda_backend().layer_norm_forward_f32(d, f(x), f(w), f(b), f(y), f(mean), f(rstd)),
             "cuda layer norm kernel");
}

void cuda_layer_norm_backward_f32(const kernels::LayerNormDesc& d, const void* x, const void* dy,
                                  const void* mean, const void* rstd, const void* w, void* dx,
                                  void* dw, void* db) {
  const Tensor ws = (dw || db) ? workspace(cuda_backend().layer_norm_workspace_bytes(d)) : Tensor();
  cuda_check(cuda_backend().layer_norm_backward_f32(d, f(x), f(dy), f(mean), f(rstd), f(w), f(dx),
                                                    f(dw), f(db), ws_ptr(ws)),
             "cuda layer norm backward kernel");
}

template <>
void cuda_index_select<float>(const kernels::IndexDesc& d, const void* in, const int64_t* idx,
                              void* out) {
  cuda_check(cuda_backend().index_select_f32(d, f(in), idx, f(out)), "cuda index_select kernel");
}

template <>
void cuda_index_select<int64_t>(const kernels::IndexDesc& d, const void* in, const int64_t* idx,
                                void* out) {
  cuda_check(cuda_backend().index_select_i64(d, static_cast<const int64_t*>(in), idx,
                                             static_cast<int64_t*>(out)),
             "cuda index_select kernel");
}

template <>
void cuda_gather<float>(const kernels::IndexDesc& d, const void* in, const int64_t* idx,
                        void* out) {
  cuda_check(cuda_backend().gather_f32(d, f(in), idx, f(out)), "cuda gather kernel");
}

template <>
void cuda_gather<int64_t>(const kernels::IndexDesc& d, const void* in, const int64_t* idx,
                          void* out) {
  cuda_check(cuda_backend().gather_i64(d, static_cast<const int64_t*>(in), idx,
                                       static_cast<int64_t*>(out)),
             "cuda gather kernel");
}

void cuda_index_add_f32(const kernels::IndexDesc& d, const void* g, const int64_t* idx, void* gi) {
  cuda_check(cuda_backend().index_add_f32(d, f(g), idx, f(gi)), "cuda index_add kernel");
}

void cuda_scatter_add_f32(const kernels::IndexDesc& d, const void* g, const int64_t* idx,
                          void* gi) {
  cuda_check(cuda_backend().scatter_add_f32(d, f(g), idx, f(gi)), "cuda scatter_add kernel");
}

}  // namespace signet
