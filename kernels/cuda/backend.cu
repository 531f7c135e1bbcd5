#include "kernels/cuda/cuda_compat.h"

#include "kernels/cuda/backend.h"
#include "kernels/cuda/cast.h"
#include "kernels/cuda/clip.h"
#include "kernels/cuda/device_query.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm_naive.h"
#include "kernels/cuda/gemm_tensor_core.h"
#include "kernels/cuda/gemm_tiled.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/lstm_cell.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"

namespace signet::cuda {
namespace {

// Total global memory of device i; 0 when it cannot be read.
size_t device_memory(int device) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return prop.totalGlobalMem;
}

// Names the status as the runtime does.
std::string describe(int status) {
  const cudaError_t e = cudaError_t(status);
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

int set_device(int device) {
  return cudaSetDevice(device);
}
int synchronize() {
  return cudaDeviceSynchronize();
}
int device_malloc(void** ptr, size_t bytes) {
  return cudaMalloc(ptr, bytes);
}
int device_free(void* ptr) {
  return cudaFree(ptr);
}
int copy_h2d(void* dst, const void* src, size_t bytes) {
  return cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
}
int copy_d2h(void* dst, const void* src, size_t bytes) {
  return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
}
int copy_d2d(void* dst, const void* src, size_t bytes) {
  return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice);
}
int device_memset(void* ptr, int value, size_t bytes) {
  return cudaMemset(ptr, value, bytes);
}
int unary(kernels::UnaryOp op, kernels::ElementwiseParams p, const kernels::StridedDesc& d,
          const float* a, float* out) {
  return unary_f32(op, p, d, a, out);
}
int binary(kernels::BinaryOp op, kernels::ElementwiseParams p, const kernels::StridedDesc& d,
           const float* a, const float* b, float* out) {
  return binary_f32(op, p, d, a, b, out);
}
int fill(const kernels::StridedDesc& d, float value, float* out) {
  return fill_f32(d, value, out);
}
int reduce_sum(const kernels::ReduceDesc& d, const float* in, float* out) {
  return reduce_sum_f32(d, in, out);
}
int softmax_forward(const kernels::SoftmaxDesc& d, const float* x, float* y, bool log) {
  return softmax_forward_f32(d, x, y, log);
}
int softmax_backward(const kernels::SoftmaxDesc& d, const float* y, const float* dy, float* dx,
                     bool log) {
  return softmax_backward_f32(d, y, dy, dx, log);
}
int gemm(const kernels::GemmDesc& d, const float* a, const float* b, float* c) {
  return gemm_v1_naive_f32(d, a, b, c);
}

// This build's table, one named assignment per field (a field left out stays null).
GpuBackend make_table() {
  GpuBackend t{};
  t.device_count = &device_count;
  t.device_name = &device_name;
  t.device_memory = &device_memory;
  t.set_device = &set_device;
  t.synchronize = &synchronize;
  t.describe = &describe;
  t.malloc = &device_malloc;
  t.free = &device_free;
  t.memcpy_h2d = &copy_h2d;
  t.memcpy_d2h = &copy_d2h;
  t.memcpy_d2d = &copy_d2d;
  t.memset = &device_memset;
  t.unary_f32 = &unary;
  t.binary_f32 = &binary;
  t.fill_f32 = &fill;
  t.reduce_sum_f32 = &reduce_sum;
  t.softmax_forward_f32 = &softmax_forward;
  t.softmax_backward_f32 = &softmax_backward;
  t.gemm_f32 = &gemm;
  t.gemm_v3_f32 = [](const kernels::GemmDesc& d, const float* a, const float* b, float* c) -> int {
    return gemm_v3_register_f32(d, a, b, c);
  };
  t.lstm_cell_forward_f32 = [](const kernels::LstmCellDesc& d, const int64_t* lengths,
                               const float* gates, const float* c_prev, const float* h_prev,
                               float* act, float* c, float* h, float* y) -> int {
    return lstm_cell_forward_f32(d, lengths, gates, c_prev, h_prev, act, c, h, y);
  };
  t.lstm_cell_backward_f32 = [](const kernels::LstmCellDesc& d, const int64_t* lengths,
                                const float* act, const float* c_prev, const float* c,
                                const float* dy, float* dh, float* dc, float* dgates) -> int {
    return lstm_cell_backward_f32(d, lengths, act, c_prev, c, dy, dh, dc, dgates);
  };
  t.gemm_v4_tf32_f32 = [](const kernels::GemmDesc& d, const float* a, const float* b,
                          float* c) -> int { return gemm_v4_tf32_f32(d, a, b, c); };
  t.reduce_extremum_f32 = [](const kernels::ReduceDesc& d, const float* in, float* out,
                             int64_t* arg, bool is_max) -> int {
    return reduce_extremum_f32(d, in, out, arg, is_max);
  };
  t.scatter_to_arg_f32 = [](const kernels::ReduceDesc& d, const float* g, const int64_t* arg,
                            float* gi) -> int { return scatter_to_arg_f32(d, g, arg, gi); };
  t.binary_scalar_f32 = [](kernels::BinaryOp op, kernels::ElementwiseParams p,
                           const kernels::StridedDesc& d, const float* a, float s,
                           bool scalar_first, float* out) -> int {
    return binary_scalar_f32(op, p, d, a, s, scalar_first, out);
  };
  t.cast_f32_from_u8 = [](const kernels::StridedDesc& d, const uint8_t* in, float* out) -> int {
    return cast_f32_from_u8(d, in, out);
  };
  t.cast_f32_from_i64 = [](const kernels::StridedDesc& d, const int64_t* in, float* out) -> int {
    return cast_f32_from_i64(d, in, out);
  };
  t.copy_i64 = [](const kernels::StridedDesc& d, const int64_t* in, int64_t* out) -> int {
    return copy_i64(d, in, out);
  };
  t.copy_u8 = [](const kernels::StridedDesc& d, const uint8_t* in, uint8_t* out) -> int {
    return copy_u8(d, in, out);
  };
  t.nll_forward_f32 = [](const kernels::NllDesc& d, const float* logp, const int64_t* target,
                         const float* weight, float* loss, float* wsum) -> int {
    return nll_forward_f32(d, logp, target, weight, loss, wsum);
  };
  t.nll_backward_f32 = [](const kernels::NllDesc& d, const int64_t* target, const float* weight,
                          const float* dloss, float* dlogp) -> int {
    return nll_backward_f32(d, target, weight, dloss, dlogp);
  };
  t.cross_entropy_forward_f32 = [](const kernels::NllDesc& d, float eps, const float* x,
                                   const int64_t* target, const float* weight, float* loss,
                                   float* wsum) -> int {
    return cross_entropy_forward_f32(d, eps, x, target, weight, loss, wsum);
  };
  t.cross_entropy_backward_f32 = [](const kernels::NllDesc& d, float eps, const float* x,
                                    const int64_t* target, const float* weight, const float* dloss,
                                    float* dx) -> int {
    return cross_entropy_backward_f32(d, eps, x, target, weight, dloss, dx);
  };
  t.bce_with_logits_forward_f32 = [](int64_t n, const float* x, const float* y, const float* w,
                                     const float* pw, const float* m, float* loss) -> int {
    return bce_with_logits_forward_f32(n, x, y, w, pw, m, loss);
  };
  t.bce_with_logits_backward_f32 = [](int64_t n, const float* x, const float* y, const float* w,
                                      const float* pw, const float* m, const float* dloss,
                                      float* dx) -> int {
    return bce_with_logits_backward_f32(n, x, y, w, pw, m, dloss, dx);
  };
  t.sgd_step_f32 = [](const kernels::SgdDesc& d, float* p, const float* g, float* buf) -> int {
    return sgd_step_f32(d, p, g, buf);
  };
  t.adam_step_f32 = [](const kernels::AdamDesc& d, float* p, const float* g, float* m, float* v,
                       float* vmax) -> int { return adam_step_f32(d, p, g, m, v, vmax); };
  t.rmsprop_step_f32 = [](const kernels::RmspropDesc& d, float* p, const float* g, float* sq,
                          float* avg,
                          float* buf) -> int { return rmsprop_step_f32(d, p, g, sq, avg, buf); };
  t.clip_partial_count = &clip_partial_count;
  t.clip_partial_sumsq_f32 = [](const float* g, int64_t n, double* partials) -> int {
    return clip_partial_sumsq_f32(g, n, partials);
  };
  t.clip_norm_scale = [](const double* partials, int64_t count, double max_norm,
                         double* out) -> int {
    return clip_norm_scale(partials, count, max_norm, out);
  };
  t.clip_scale_f32 = [](float* g, int64_t n, const double* scale) -> int {
    return clip_scale_f32(g, n, scale);
  };
  return t;
}

}  // namespace

// This build's table.
const GpuBackend& backend() {
  static const GpuBackend table = make_table();
  return table;
}

}  // namespace signet::cuda
