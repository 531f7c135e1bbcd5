#include "engine/cuda_kernels_nn.h"

#include "engine/cuda_device.h"
#include "engine/error.h"
#include "engine/tensor.h"
#include "kernels/cuda/nn_backend.h"

namespace signet {
namespace {

// The nn table of the backend cuda_backend() chose (nvcc or simt).
const GpuNnBackend& nn() {
  static const GpuNnBackend* const table = [] {
    const std::string& name = cuda_backend_name();
    const GpuNnBackend* t = nullptr;
#if defined(SIGNET_WITH_CUDA)
    if (name == "nvcc") t = &signet::cuda::nn_backend();
#endif
#if defined(SIGNET_WITH_SIMT)
    if (name == "simt") t = &signet::simt_cuda::nn_backend();
#endif
    SIGNET_CHECK(t != nullptr, "cuda: backend ", name, " has no nn kernels in this build");
    return t;
  }();
  return *table;
}

// The f32 view of an untyped device pointer.
const float* f(const void* p) {
  return static_cast<const float*>(p);
}
// The f32 view of an untyped device pointer.
float* f(void* p) {
  return static_cast<float*>(p);
}

}  // namespace

void cuda_dropout_f32(const kernels::DropoutDesc& d, const void* x, void* y) {
  cuda_check(nn().dropout_f32(d, f(x), f(y)), "cuda dropout kernel");
}

void cuda_max_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y, int64_t* idx) {
  cuda_check(nn().max_pool_forward_f32(d, f(x), f(y), idx), "cuda max pool kernel");
}

void cuda_max_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, const int64_t* idx,
                                void* dx) {
  cuda_check(nn().max_pool_backward_f32(d, f(dy), idx, f(dx)), "cuda max pool backward kernel");
}

void cuda_avg_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y) {
  cuda_check(nn().avg_pool_forward_f32(d, f(x), f(y)), "cuda avg pool kernel");
}

void cuda_avg_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, void* dx) {
  cuda_check(nn().avg_pool_backward_f32(d, f(dy), f(dx)), "cuda avg pool backward kernel");
}

void cuda_adaptive_avg_pool_forward_f32(const kernels::PoolDesc& d, const void* x, void* y) {
  cuda_check(nn().adaptive_avg_pool_forward_f32(d, f(x), f(y)), "cuda adaptive avg pool kernel");
}

void cuda_adaptive_avg_pool_backward_f32(const kernels::PoolDesc& d, const void* dy, void* dx) {
  cuda_check(nn().adaptive_avg_pool_backward_f32(d, f(dy), f(dx)),
             "cuda adaptive avg pool backward kernel");
}

void cuda_batch_norm_train_f32(const kernels::BatchNormDesc& d, const void* x, const void* w,
                               const void* b, void* y, void* mean, void* var, void* invstd) {
  cuda_check(nn().batch_norm_train_f32(d, f(x), f(w), f(b), f(y), f(mean), f(var), f(invstd)),
             "cuda batch norm kernel");
}

void cuda_batch_norm_eval_f32(const kernels::BatchNormDesc& d, const void* x, const void* mean,
                              const void* var, const void* w, const void* b, void* y) {
  cuda_check(nn().batch_norm_eval_f32(d, f(x), f(mean), f(var), f(w), f(b), f(y)),
             "cuda batch norm eval kernel");
}

void cuda_batch_norm_backward_f32(const kernels::BatchNormDesc& d, const void* x, const void* dy,
                                  const void* mean, const void* invstd, const void* w,
                                  bool training, void* dx, void* dw, void* db) {
  cuda_check(nn().batch_norm_backward_f32(d, f(x), f(dy), f(mean), f(invstd), f(w), training, f(dx),
                                          f(dw), f(db)),
             "cuda batch norm backward kernel");
}

void cuda_conv_forward_f32(const kernels::ConvDesc& d, const void* x, const void* w, const void* b,
                           void* y) {
  cuda_check(nn().conv_forward_f32(d, f(x), f(w), f(b), f(y)), "cuda conv kernel (v1_naive)");
}

void cuda_conv_backward_data_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                 void* dx) {
  cuda_check(nn().conv_backward_data_f32(d, f(dy), f(w), f(dx)),
             "cuda conv backward-data kernel (v1_naive)");
}

void cuda_conv_backward_weights_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                    void* dw, void* db) {
  cuda_check(nn().conv_backward_weights_f32(d, f(x), f(dy), f(dw), f(db)),
             "cuda conv backward-weights kernel (v1_naive)");
}

void cuda_conv_forward_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* w,
                                 const void* b, void* y) {
  cuda_check(nn().conv_igemm_forward_f32(d, f(x), f(w), f(b), f(y)), "cuda conv kernel (v2_igemm)");
}

void cuda_conv_backward_data_igemm_f32(const kernels::ConvDesc& d, const void* dy, const void* w,
                                       void* dx) {
  cuda_check(nn().conv_igemm_backward_data_f32(d, f(dy), f(w), f(dx)),
             "cuda conv backward-data kernel (v2_igemm)");
}

void cuda_conv_backward_weights_igemm_f32(const kernels::ConvDesc& d, const void* x, const void* dy,
                                          void* dw, void* db) {
  const size_t bytes = nn().conv_igemm_workspace_bytes(d);
  Tensor ws;
  if (bytes > 0)
    ws = empty({static_cast<int64_t>(bytes)}, DType::u8, Device::cuda(cuda_current_device()));
  cuda_check(
      nn().conv_igemm_backward_weights_f32(
          d, f(x), f(dy), f(dw), f(db), bytes > 0 ? static_cast<float*>(ws.raw_data()) : nullptr),
      "cuda conv backward-weights kernel (v2_igemm)");
}

}  // namespace signet
