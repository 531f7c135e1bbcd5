// Batch norm and dropout on the cuda device: Signet's kernels (signet::cuda::batch_norm_*_f32,
// v1 channel-block and v2 split, 7 blocks a channel here; signet::cuda::dropout_forward_f32)
// beside cuDNN's (the legacy
// cudnnBatchNormalizationForwardTraining / cudnnBatchNormalizationBackward in spatial mode;
// cudnnDropoutForward / cudnnDropoutBackward) on the same device buffers in the same run, on the
// CPU norm cases (bench_batchnorm.cpp, bench_norm.cpp). Each iteration is timed with CUDA events
// around the launches (manual time); impl names carry t1 (one stream).
// Bytes per iteration (the minimal unique traffic, as the CPU benches count it):
//   batchnorm fwd      2 T: read x, write y (T = 32x64x56x56 f32 = 25.7 MB; the statistics
//                         pass re-reads x, not counted).
//   batchnorm fwd_bwd  5 T: the forward, then read dy and x, write dx.
//   dropout fwd        8 B per element: read x, write y.
//   dropout fwd_bwd   16 B per element: the forward, then read dy, write dx (ours regenerates the
//                         mask; cuDNN also writes and re-reads its reserve space, not counted).
// Counters: GB/s, and dev_bw_frac = GB/s over the device's memory bandwidth, 2 x memory clock x
// bus width / 8 as cudaDeviceGetAttribute reports them (absent when the device reports 0).
// Without a CUDA device the program says so in one line and exits 0.
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <string>

#include "bench/cuda_bench.h"
#include "bench/harness.h"
#include "kernels/common/dropout_desc.h"
#include "kernels/common/norm_desc.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/dropout.h"

namespace {

using signet::bench::DeviceBuffer;
using signet::bench::timed;
using signet::kernels::BatchNormDesc;
using signet::kernels::DropoutDesc;

constexpr int kN = 32, kC = 64, kH = 56, kW = 56;
constexpr int64_t kBnTotal = int64_t{kN} * kC * kH * kW;
constexpr int64_t kDropoutN = int64_t{32} << 20;  // 32M floats

// The device's memory bandwidth in bytes/s from its memory clock (kHz) and bus width (bits).
double device_bandwidth() {
  int clock_khz = 0, bus_bits = 0;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0);
  cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
  return 2.0 * double(clock_khz) * 1e3 * double(bus_bits) / 8.0;
}

// GB/s and dev_bw_frac for bytes moved per iteration.
void set_counters(benchmark::State& state, double bytes) {
  signet::bench::set_bandwidth_counter(state, bytes);
  const double peak = device_bandwidth();
  if (peak > 0)
    state.counters["dev_bw_frac"] =
        benchmark::Counter(bytes / peak, benchmark::Counter::kIsIterationInvariantRate);
}

// "" for success, else the CUDA error's name.
std::string cuda_status(cudaError_t e) {
  return e == cudaSuccess ? std::string() : std::string(cudaGetErrorName(e));
}

// "" for success, else cuDNN's message.
std::string cudnn_status(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? std::string() : std::string(cudnnGetErrorString(s));
}

// The batch norm case's device buffers and cuDNN descriptors, made once.
struct BnData {
  DeviceBuffer x{kBnTotal, 41u}, y{kBnTotal, 42u}, dy{kBnTotal, 43u}, dx{kBnTotal, 44u};
  DeviceBuffer weight{kC, 1.0f}, bias{kC, 0.0f}, mean{kC, 0.0f}, var{kC, 1.0f};
  DeviceBuffer invstd{kC, 1.0f}, dweight{kC, 0.0f}, dbias{kC, 0.0f};
  DeviceBuffer running_mean{kC, 0.0f}, running_var{kC, 1.0f};
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x_desc = nullptr, param_desc = nullptr;
  BnData() {
    cudnnCreate(&handle);
    cudnnCreateTensorDescriptor(&x_desc);
    cudnnSetTensor4dDescriptor(x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, kN, kC, kH, kW);
    cudnnCreateTensorDescriptor(&param_desc);
    cudnnDeriveBNTensorDescriptor(param_desc, x_desc, CUDNN_BATCHNORM_SPATIAL);
  }
  ~BnData() {
    cudnnDestroyTensorDescriptor(param_desc);
    cudnnDestroyTensorDescriptor(x_desc);
    cudnnDestroy(handle);
  }
};

BnData& bn_data() {
  static BnData d;
  return d;
}

// The batch norm case's descriptor.
BatchNormDesc bn_desc() {
  BatchNormDesc d;
  d.n = kN;
  d.c = kC;
  d.inner = int64_t{kH} * kW;
  return d;
}

// Signet's v1 training forward (and with `backward` the fused backward) on the case.
void bm_bn_signet(benchmark::State& state, bool backward) {
  BnData& b = bn_data();
  const BatchNormDesc d = bn_desc();
  timed(state, [&] {
    cudaError_t e = signet::cuda::batch_norm_forward_train_f32(
        d, b.x.ptr, b.weight.ptr, b.bias.ptr, b.y.ptr, b.mean.ptr, b.var.ptr, b.invstd.ptr);
    if (e == cudaSuccess && backward)
      e = signet::cuda::batch_norm_backward_f32(d, b.x.ptr, b.dy.ptr, b.mean.ptr, b.invstd.ptr,
                                                b.weight.ptr, true, b.dx.ptr, b.dweight.ptr,
                                                b.dbias.ptr);
    return cuda_status(e);
  });
  set_counters(state, (backward ? 5.0 : 2.0) * double(kBnTotal) * sizeof(float));
}

// Signet's v2 (several blocks per channel) on the case, bytes counted as for v1.
void bm_bn_signet_v2(benchmark::State& state, bool backward) {
  BnData& b = bn_data();
  const BatchNormDesc d = bn_desc();
  static DeviceBuffer ws{int64_t(signet::cuda::batch_norm_workspace_bytes(d) / sizeof(float)),
                         0.0f};
  timed(state, [&] {
    cudaError_t e = signet::cuda::batch_norm_v2_split_forward_train_f32(
        d, b.x.ptr, b.weight.ptr, b.bias.ptr, b.y.ptr, b.mean.ptr, b.var.ptr, b.invstd.ptr, ws.ptr);
    if (e == cudaSuccess && backward)
      e = signet::cuda::batch_norm_v2_split_backward_f32(d, b.x.ptr, b.dy.ptr, b.mean.ptr,
                                                         b.invstd.ptr, b.weight.ptr, true, b.dx.ptr,
                                                         b.dweight.ptr, b.dbias.ptr, ws.ptr);
    return cuda_status(e);
  });
  set_counters(state, (backward ? 5.0 : 2.0) * double(kBnTotal) * sizeof(float));
}

// cuDNN's training forward (running statistics updated as ours are by the op) and backward.
void bm_bn_cudnn(benchmark::State& state, bool backward) {
  BnData& b = bn_data();
  const float one = 1.0f, zero = 0.0f;
  timed(state, [&] {
    cudnnStatus_t s = cudnnBatchNormalizationForwardTraining(
        b.handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, b.x_desc, b.x.ptr, b.x_desc, b.y.ptr,
        b.param_desc, b.weight.ptr, b.bias.ptr, 0.1, b.running_mean.ptr, b.running_var.ptr, 1e-5,
        b.mean.ptr, b.invstd.ptr);
    if (s == CUDNN_STATUS_SUCCESS && backward)
      s = cudnnBatchNormalizationBackward(b.handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one,
                                          &zero, b.x_desc, b.x.ptr, b.x_desc, b.dy.ptr, b.x_desc,
                                          b.dx.ptr, b.param_desc, b.weight.ptr, b.dweight.ptr,
                                          b.dbias.ptr, 1e-5, b.mean.ptr, b.invstd.ptr);
    return cudnn_status(s);
  });
  set_counters(state, (backward ? 5.0 : 2.0) * double(kBnTotal) * sizeof(float));
}

// The dropout case's device buffers and cuDNN dropout state, made once.
struct DropoutData {
  DeviceBuffer x{kDropoutN, 21u}, y{kDropoutN, 22u}, dy{kDropoutN, 23u}, dx{kDropoutN, 24u};
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t desc = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  void* states = nullptr;
  void* reserve = nullptr;
  size_t states_bytes = 0, reserve_bytes = 0;
  DropoutData() {
    cudnnCreate(&handle);
    cudnnCreateTensorDescriptor(&desc);
    cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1, int(kDropoutN));
    cudnnDropoutGetStatesSize(handle, &states_bytes);
    cudaMalloc(&states, states_bytes);
    cudnnCreateDropoutDescriptor(&dropout);
    cudnnSetDropoutDescriptor(dropout, handle, 0.5f, states, states_bytes, 1234);
    cudnnDropoutGetReserveSpaceSize(desc, &reserve_bytes);
    cudaMalloc(&reserve, reserve_bytes);
  }
  ~DropoutData() {
    cudaFree(reserve);
    cudnnDestroyDropoutDescriptor(dropout);
    cudaFree(states);
    cudnnDestroyTensorDescriptor(desc);
    cudnnDestroy(handle);
  }
};

DropoutData& dropout_data() {
  static DropoutData d;
  return d;
}

// Signet's dropout p = 0.5 at a fixed (seed, offset); the backward regenerates the mask on dy.
void bm_dropout_signet(benchmark::State& state, bool backward) {
  DropoutData& b = dropout_data();
  DropoutDesc d;
  d.n = kDropoutN;
  d.p = 0.5;
  d.seed = 1234;
  d.offset = 56;
  timed(state, [&] {
    cudaError_t e = signet::cuda::dropout_forward_f32(d, b.x.ptr, b.y.ptr);
    if (e == cudaSuccess && backward) e = signet::cuda::dropout_forward_f32(d, b.dy.ptr, b.dx.ptr);
    return cuda_status(e);
  });
  set_counters(state, (backward ? 16.0 : 8.0) * double(kDropoutN));
}

// cuDNN's dropout p = 0.5 (mask kept in its reserve space for the backward).
void bm_dropout_cudnn(benchmark::State& state, bool backward) {
  DropoutData& b = dropout_data();
  timed(state, [&] {
    cudnnStatus_t s = cudnnDropoutForward(b.handle, b.dropout, b.desc, b.x.ptr, b.desc, b.y.ptr,
                                          b.reserve, b.reserve_bytes);
    if (s == CUDNN_STATUS_SUCCESS && backward)
      s = cudnnDropoutBackward(b.handle, b.dropout, b.desc, b.dy.ptr, b.desc, b.dx.ptr, b.reserve,
                               b.reserve_bytes);
    return cudnn_status(s);
  });
  set_counters(state, (backward ? 16.0 : 8.0) * double(kDropoutN));
}

// Registers one case with the harness's hygiene and event (manual) time.
template <class Fn>
void add(const std::string& op, const std::string& cas, bool backward, const std::string& impl,
         Fn fn) {
  signet::bench::configure(
      benchmark::RegisterBenchmark(
          signet::bench::case_name(op, cas, backward ? "fwd_bwd" : "fwd", impl, 1).c_str(), fn,
          backward))
      ->UseManualTime();
}

// Every case, ours beside cuDNN's.
void register_cuda_norm_cases() {
  for (bool backward : {false, true}) {
    add("batchnorm", "2d_32x64x56x56_train", backward, "signet_cuda_v1", bm_bn_signet);
    add("batchnorm", "2d_32x64x56x56_train", backward, "signet_cuda_v2_split", bm_bn_signet_v2);
    add("batchnorm", "2d_32x64x56x56_train", backward, "cudnn", bm_bn_cudnn);
    add("dropout", "32M_p0.5", backward, "signet_cuda", bm_dropout_signet);
    add("dropout", "32M_p0.5", backward, "cudnn", bm_dropout_cudnn);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_cuda_main("bench_cuda_norm", argc, argv, register_cuda_norm_cases);
}
