#include "kernels/cuda/cuda_compat.h"

#include "kernels/cuda/backend.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/cast.h"
#include "kernels/cuda/clip.h"
#include "kernels/cuda/conv_first_layer.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/conv_naive.h"
#include "kernels/cuda/convlstm_fused.h"
#include "kernels/cuda/device_query.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm_naive.h"
#include "kernels/cuda/gemm_tensor_core.h"
#include "kernels/cuda/gemm_tiled.h"
#include "kernels/cuda/index.h"
#include "kernels/cuda/layer_norm.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/lstm_cell.h"
#include "kernels/cuda/lstm_persistent.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

// A launcher returning cudaError_t seen as the table's int-returning function.
template <auto Launcher>
struct AsStatus;
template <class R, class... A, R (*Launcher)(A...)>
struct AsStatus<Launcher> {
  static int call(A... args) { return int(Launcher(args...)); }
};

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

// A copy on the current stream that returns once the stream has done it.
cudaError_t copy_and_wait(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, current_stream());
  return e != cudaSuccess ? e : cudaStreamSynchronize(current_stream());
}

// The table's stream and event functions: untyped handles to and from the runtime's.
cudaStream_t as_stream(void* s) {
  return static_cast<cudaStream_t>(s);
}
cudaEvent_t as_event(void* e) {
  return static_cast<cudaEvent_t>(e);
}
int stream_create(void** out) {
  cudaStream_t s = nullptr;
  const cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamDefault);
  *out = s;
  return e;
}
int event_create(void** out) {
  cudaEvent_t ev = nullptr;
  const cudaError_t e = cudaEventCreate(&ev);
  *out = ev;
  return e;
}

// This build's table, one named assignment per field (a field left out stays null).
GpuBackend make_table() {
  GpuBackend t{};
  t.device_count = &device_count;
  t.device_name = &device_name;
  t.device_memory = &device_memory;
  t.set_device = [](int device) -> int { return cudaSetDevice(device); };
  t.synchronize = []() -> int { return cudaDeviceSynchronize(); };
  t.describe = &describe;
  t.malloc = [](void** ptr, size_t bytes) -> int { return cudaMalloc(ptr, bytes); };
  t.free = [](void* ptr) -> int { return cudaFree(ptr); };
  t.memcpy_h2d = [](void* dst, const void* src, size_t bytes) -> int {
    return copy_and_wait(dst, src, bytes, cudaMemcpyHostToDevice);
  };
  t.memcpy_d2h = [](void* dst, const void* src, size_t bytes) -> int {
    return copy_and_wait(dst, src, bytes, cudaMemcpyDeviceToHost);
  };
  t.memcpy_d2d = [](void* dst, const void* src, size_t bytes) -> int {
    return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, current_stream());
  };
  t.memset = [](void* ptr, int value, size_t bytes) -> int {
    return cudaMemsetAsync(ptr, value, bytes, current_stream());
  };
  t.stream_create = &stream_create;
  t.stream_destroy = [](void* s) -> int { return cudaStreamDestroy(as_stream(s)); };
  t.stream_synchronize = [](void* s) -> int { return cudaStreamSynchronize(as_stream(s)); };
  t.set_stream = [](void* s) -> int {
    set_current_stream(as_stream(s));
    return cudaSuccess;
  };
  t.event_create = &event_create;
  t.event_destroy = [](void* e) -> int { return cudaEventDestroy(as_event(e)); };
  t.event_record = [](void* e, void* s) -> int {
    return cudaEventRecord(as_event(e), as_stream(s));
  };
  t.stream_wait_event = [](void* s, void* e) -> int {
    return cudaStreamWaitEvent(as_stream(s), as_event(e), 0);
  };
  t.event_synchronize = [](void* e) -> int { return cudaEventSynchronize(as_event(e)); };
  t.unary_f32 = &AsStatus<&unary_f32>::call;
  t.binary_f32 = &AsStatus<&binary_f32>::call;
  t.fill_f32 = &AsStatus<&fill_f32>::call;
  t.reduce_sum_f32 = &AsStatus<&reduce_sum_f32>::call;
  t.softmax_forward_f32 = &AsStatus<&softmax_forward_f32>::call;
  t.softmax_backward_f32 = &AsStatus<&softmax_backward_f32>::call;
  t.gemm_f32 = &AsStatus<&gemm_v1_naive_f32>::call;
  t.gemm_v3_f32 = &AsStatus<&gemm_v3_register_f32>::call;
  t.gemm_v4_tf32_f32 = &AsStatus<&gemm_v4_tf32_f32>::call;
  t.lstm_cell_forward_f32 = &AsStatus<&lstm_cell_forward_f32>::call;
  t.lstm_cell_backward_f32 = &AsStatus<&lstm_cell_backward_f32>::call;
  t.reduce_extremum_f32 = &AsStatus<&reduce_extremum_f32>::call;
  t.scatter_to_arg_f32 = &AsStatus<&scatter_to_arg_f32>::call;
  t.binary_scalar_f32 = &AsStatus<&binary_scalar_f32>::call;
  t.cast_f32_from_u8 = &AsStatus<&cast_f32_from_u8>::call;
  t.cast_f32_from_i64 = &AsStatus<&cast_f32_from_i64>::call;
  t.copy_i64 = &AsStatus<&copy_i64>::call;
  t.copy_u8 = &AsStatus<&copy_u8>::call;
  t.class_target_check = &AsStatus<&class_target_check>::call;
  t.nll_forward_f32 = &AsStatus<&nll_forward_f32>::call;
  t.nll_backward_f32 = &AsStatus<&nll_backward_f32>::call;
  t.cross_entropy_forward_f32 = &AsStatus<&cross_entropy_forward_f32>::call;
  t.cross_entropy_backward_f32 = &AsStatus<&cross_entropy_backward_f32>::call;
  t.bce_with_logits_forward_f32 = &AsStatus<&bce_with_logits_forward_f32>::call;
  t.bce_with_logits_backward_f32 = &AsStatus<&bce_with_logits_backward_f32>::call;
  t.sgd_step_f32 = &AsStatus<&sgd_step_f32>::call;
  t.adam_step_f32 = &AsStatus<&adam_step_f32>::call;
  t.rmsprop_step_f32 = &AsStatus<&rmsprop_step_f32>::call;
  t.clip_partial_count = &clip_partial_count;
  t.clip_partial_sumsq_f32 = &AsStatus<&clip_partial_sumsq_f32>::call;
  t.clip_norm_scale = &AsStatus<&clip_norm_scale>::call;
  t.clip_scale_f32 = &AsStatus<&clip_scale_f32>::call;
  t.dropout_f32 = &AsStatus<&dropout_forward_f32>::call;
  t.max_pool_forward_f32 = &AsStatus<&max_pool_forward_f32>::call;
  t.max_pool_backward_f32 = &AsStatus<&max_pool_backward_f32>::call;
  t.avg_pool_forward_f32 = &AsStatus<&avg_pool_forward_f32>::call;
  t.avg_pool_backward_f32 = &AsStatus<&avg_pool_backward_f32>::call;
  t.adaptive_avg_pool_forward_f32 = &AsStatus<&adaptive_avg_pool_forward_f32>::call;
  t.adaptive_avg_pool_backward_f32 = &AsStatus<&adaptive_avg_pool_backward_f32>::call;
  t.batch_norm_train_f32 = &AsStatus<&batch_norm_forward_train_f32>::call;
  t.batch_norm_eval_f32 = &AsStatus<&batch_norm_forward_eval_f32>::call;
  t.batch_norm_backward_f32 = &AsStatus<&batch_norm_backward_f32>::call;
  t.conv_forward_f32 = &AsStatus<&conv_v1_naive_forward_f32>::call;
  t.conv_backward_data_f32 = &AsStatus<&conv_v1_naive_backward_data_f32>::call;
  t.conv_backward_weights_f32 = &AsStatus<&conv_v1_naive_backward_weights_f32>::call;
  t.conv_igemm_forward_f32 = &AsStatus<&conv_v2_igemm_forward_f32>::call;
  t.conv_igemm_backward_data_f32 = &AsStatus<&conv_v2_igemm_backward_data_f32>::call;
  t.conv_igemm_backward_weights_f32 = &AsStatus<&conv_v2_igemm_backward_weights_f32>::call;
  t.conv_igemm_workspace_bytes = &conv_igemm_workspace_bytes;
  t.batch_norm_v2_train_f32 = &AsStatus<&batch_norm_v2_split_forward_train_f32>::call;
  t.batch_norm_v2_backward_f32 = &AsStatus<&batch_norm_v2_split_backward_f32>::call;
  t.batch_norm_workspace_bytes = &batch_norm_workspace_bytes;
  t.batch_norm_splits = &batch_norm_splits;
  t.mask_targets_i64 = &AsStatus<&mask_targets_i64>::call;
  t.length_padding_f32 = &AsStatus<&length_padding_f32>::call;
  t.mask_padding_f32 = &AsStatus<&mask_padding_f32>::call;
  t.gemm_v5_bf16_f32 = &AsStatus<&gemm_v5_bf16_f32>::call;
  t.gemm_v6_bf16_ldmatrix_f32 = &AsStatus<&gemm_v6_bf16_ldmatrix_f32>::call;
  t.conv_igemm_tf32_forward_f32 = &AsStatus<&conv_v3_igemm_tf32_forward_f32>::call;
  t.conv_igemm_tf32_backward_data_f32 = &AsStatus<&conv_v3_igemm_tf32_backward_data_f32>::call;
  t.conv_igemm_tf32_backward_weights_f32 =
      &AsStatus<&conv_v3_igemm_tf32_backward_weights_f32>::call;
  t.conv_igemm_bf16_forward_f32 = &AsStatus<&conv_v4_igemm_bf16_forward_f32>::call;
  t.conv_igemm_bf16_backward_data_f32 = &AsStatus<&conv_v4_igemm_bf16_backward_data_f32>::call;
  t.conv_igemm_bf16_backward_weights_f32 =
      &AsStatus<&conv_v4_igemm_bf16_backward_weights_f32>::call;
  t.conv_first_layer_forward_f32 = &AsStatus<&conv_first_layer_forward_f32>::call;
  t.conv_first_layer_applies = &conv_first_layer_applies;
  t.convlstm_forward_f32 = &AsStatus<&convlstm_v3_fused_forward_f32>::call;
  t.convlstm_backward_f32 = &AsStatus<&convlstm_v3_fused_backward_f32>::call;
  t.convlstm_workspace_bytes = &convlstm_seq_workspace_bytes;
  t.layer_norm_forward_f32 = &AsStatus<&layer_norm_forward_f32>::call;
  t.layer_norm_backward_f32 = &AsStatus<&layer_norm_backward_f32>::call;
  t.layer_norm_workspace_bytes = &layer_norm_workspace_bytes;
  t.index_select_f32 = &AsStatus<&index_select_f32>::call;
  t.index_select_i64 = &AsStatus<&index_select_i64>::call;
  t.gather_f32 = &AsStatus<&gather_f32>::call;
  t.gather_i64 = &AsStatus<&gather_i64>::call;
  t.index_add_f32 = &AsStatus<&index_add_f32>::call;
  t.scatter_add_f32 = &AsStatus<&scatter_add_f32>::call;
  t.lstm_persistent_fits = &lstm_persistent_fits;
  t.lstm_persistent_steps_f32 = [](int64_t steps, int64_t batch, int64_t hidden, bool reverse,
                                   const int64_t* lengths, const float* w_hh, float* act,
                                   float* hbuf, float* cbuf, float* y) -> int {
    return lstm_persistent_steps_f32({steps, batch, 0, hidden, reverse}, lengths, w_hh,
                                     {act, hbuf, cbuf, y});
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
