// Convolution on the cuda device: Signet's implicit-GEMM versions (signet::cuda::conv_v2_igemm_*
// on fp32 FMA, conv_v3_igemm_tf32_* on tf32 and conv_v4_igemm_bf16_* on bf16 tensor cores, each
// forward, backward-data and backward-weights; conv_first_layer_forward_f32 where C/groups * taps
// <= 256) beside cuDNN on the same device buffers in the same run, on the CPU conv cases A-E
// (bench_conv.cpp: kernel 3, padding 1, stride 1) and their batch-64 versions. No bias on either
// side. cuDNN through the legacy API (deprecated in cuDNN 9, still present): the fastest algorithm
// that cudnnFindConvolution{Forward,BackwardData,BackwardFilter}Algorithm reports for the case,
// with the workspace it asks for, in two math modes:
//   cudnn_fp32  CUDNN_FMA_MATH: fp32 FMA only, the peer of our fp32 versions.
//   cudnn_tf32  CUDNN_TENSOR_OP_MATH: tf32 tensor cores allowed, the peer of v3_igemm_tf32 and
//               the nearest one of v4_igemm_bf16 (cuDNN has no bf16 math on fp32 tensors).
// Each iteration is timed with CUDA events around the call (manual time); impl names carry t1.
// Counters: GFLOP/s and TFLOP/s = 2 N K C/groups taps P / time (taps = kD kH kW, P = output
// positions; the same count for every pass); peak_frac = that over the device's fp32 peak (tf32
// for cudnn_tf32 and v3_igemm_tf32, bf16 for v4_igemm_bf16) from bench/cuda_bench.h; vs_cudnn = the
// peer's time / ours (the peer timed once per case and pass with 10 calls between events);
// max_rel_diff = max |ours - cudnn_fp32| / (1 + |cudnn_fp32|), a check that the version computed
// the pass; algo = cuDNN's algorithm number. First-layer backward-data (A, E) is never needed in
// training and is not registered. Without a CUDA device the program says so in one line and
// exits 0.
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "bench/conv_cases.h"
#include "bench/cuda_bench.h"
#include "bench/harness.h"
#include "kernels/common/conv_desc.h"
#include "kernels/cuda/conv_first_layer.h"
#include "kernels/cuda/conv_igemm.h"

namespace {

using signet::bench::conv_desc_of;
using signet::bench::conv_flops;
using signet::bench::ConvCase;
using signet::bench::CudaMath;
using signet::bench::kConvCases;
using signet::bench::timed;
using signet::kernels::ConvDesc;

// Measured after the layers (conv_cases.h): the same layers at batch 64.
const ConvCase kBatch64Cases[] = {
    {"A_n64_c1_28x28_k32", 2, 64, 1, 1, 28, 28, 32, true},
    {"B_n64_c32_14x14_k64", 2, 64, 32, 1, 14, 14, 64, false},
    {"C_n64_c128_32x32_k256", 2, 64, 128, 1, 32, 32, 256, false},
    {"D_n64_c64_56x56_k64", 2, 64, 64, 1, 56, 56, 64, false},
    {"E_n64_c3_16x112x112_k64", 3, 64, 3, 16, 112, 112, 64, true},
};

enum Pass { kFwd, kBwdData, kBwdWeights };
const char* const kPassNames[] = {"fwd", "bwd_data", "bwd_weights"};

// A device buffer of n floats (at least one), uniform in [-1, 1): 1M random floats from seed
// copied in, then doubled on the device until full.
struct DeviceBuffer {
  float* ptr = nullptr;
  size_t n;
  // Allocates and fills max(count, 1) floats.
  DeviceBuffer(int64_t count, uint32_t seed) : n(std::max<size_t>(size_t(count), 1)) {
    cudaMalloc(reinterpret_cast<void**>(&ptr), n * sizeof(float));
    const size_t first = std::min<size_t>(n, size_t{1} << 20);
    signet::bench::Buffer host = signet::bench::random_buffer(first, seed);
    cudaMemcpy(ptr, host.get(), first * sizeof(float), cudaMemcpyHostToDevice);
    for (size_t done = first; done < n; done *= 2)
      cudaMemcpy(ptr + done, ptr, std::min(done, n - done) * sizeof(float),
                 cudaMemcpyDeviceToDevice);
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// A case's descriptor and device buffers, shared by every implementation: inputs x, w, dy; each
// pass's output (y, dx, dw); check (cuDNN fp32's output for max_rel_diff); our workspace.
struct ConvData {
  ConvDesc d;
  DeviceBuffer x, w, dy, y, dx, dw, check, workspace;
  // Allocates and fills every buffer of desc.
  explicit ConvData(const ConvDesc& desc)
      : d(desc),
        x(desc.n * desc.c * signet::kernels::conv_in_volume(desc), 1),
        w(desc.k * desc.c / desc.groups * signet::kernels::conv_kernel_volume(desc), 2),
        dy(desc.n * desc.k * signet::kernels::conv_out_volume(desc), 3),
        y(dy.n, 4),
        dx(x.n, 5),
        dw(w.n, 6),
        check(std::max({x.n, w.n, dy.n}), 7),
        workspace(int64_t(signet::cuda::conv_igemm_workspace_bytes(desc) / sizeof(float)), 8) {}
  // The output buffer of `pass` and its element count.
  const DeviceBuffer& out(int pass) const { return pass == kFwd ? y : pass == kBwdData ? dx : dw; }
};

// Builds (once) the descriptor and device buffers of case c.
ConvData& data_for(const ConvCase& c) {
  static std::map<const ConvCase*, std::unique_ptr<ConvData>> all;
  std::unique_ptr<ConvData>& slot = all[&c];
  if (!slot) slot = std::make_unique<ConvData>(conv_desc_of(c));
  return *slot;
}

// The process's cuDNN handle (default stream).
cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t created = nullptr;
    cudnnCreate(&created);
    return created;
  }();
  return h;
}

// cuDNN's descriptors for one case and math mode, and the fastest algorithm (and its workspace)
// cudnnFind reported for each pass; error holds the first failure's message.
struct CudnnConv {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo[3] = {-1, -1, -1};
  size_t ws_bytes[3] = {0, 0, 0};
  void* ws[3] = {nullptr, nullptr, nullptr};
  std::string error;

  // Describes d's tensors (packed NCHW / NCDHW), filter and convolution in the math mode.
  CudnnConv(const ConvDesc& d, bool tf32) {
    const int nb = d.dims + 2, first = 3 - d.dims;
    int xd[5], yd[5], wd[5], xs[5], ys[5], pad[3], stride[3], dil[3];
    xd[0] = yd[0] = int(d.n), xd[1] = int(d.c), yd[1] = wd[0] = int(d.k);
    wd[1] = int(d.c / d.groups);
    for (int s = first; s < 3; ++s) {
      xd[2 + s - first] = int(d.in[s]), yd[2 + s - first] = int(d.out[s]);
      wd[2 + s - first] = int(d.kernel[s]);
      pad[s - first] = int(d.pad[s]), stride[s - first] = int(d.stride[s]);
      dil[s - first] = int(d.dilation[s]);
    }
    xs[nb - 1] = ys[nb - 1] = 1;
    for (int i = nb - 2; i >= 0; --i) xs[i] = xs[i + 1] * xd[i + 1], ys[i] = ys[i + 1] * yd[i + 1];
    check(cudnnCreateTensorDescriptor(&x));
    check(cudnnCreateTensorDescriptor(&y));
    check(cudnnCreateFilterDescriptor(&w));
    check(cudnnCreateConvolutionDescriptor(&conv));
    check(cudnnSetTensorNdDescriptor(x, CUDNN_DATA_FLOAT, nb, xd, xs));
    check(cudnnSetTensorNdDescriptor(y, CUDNN_DATA_FLOAT, nb, yd, ys));
    check(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, nb, wd));
    check(cudnnSetConvolutionNdDescriptor(conv, d.dims, pad, stride, dil, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT));
    check(cudnnSetConvolutionGroupCount(conv, int(d.groups)));
    check(cudnnSetConvolutionMathType(conv, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  }
  // Frees the workspaces and descriptors.
  ~CudnnConv() {
    for (void* p : ws) cudaFree(p);
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  // Keeps the first failure's message.
  void check(cudnnStatus_t s) {
    if (s != CUDNN_STATUS_SUCCESS && error.empty()) error = cudnnGetErrorString(s);
  }

  // Picks the fastest successful algorithm of perf (sorted by time) and allocates its workspace.
  template <class Perf>
  void pick(int pass, const Perf* perf, int returned) {
    for (int i = 0; i < returned; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) {
        algo[pass] = int(perf[i].algo);
        ws_bytes[pass] = perf[i].memory;
        if (ws_bytes[pass] > 0 && cudaMalloc(&ws[pass], ws_bytes[pass]) != cudaSuccess)
          error = "cannot allocate the cuDNN workspace";
        return;
      }
    if (error.empty()) error = "cudnnFind: no algorithm succeeded";
  }

  // Runs cudnnFind for `pass` (once).
  void find(int pass) {
    if (algo[pass] >= 0 || !error.empty()) return;
    int returned = 0;
    if (pass == kFwd) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      check(cudnnFindConvolutionForwardAlgorithm(
          handle(), x, w, conv, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
      pick(pass, perf, returned);
    } else if (pass == kBwdData) {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      check(cudnnFindConvolutionBackwardDataAlgorithm(
          handle(), w, y, conv, x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
      pick(pass, perf, returned);
    } else {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      check(cudnnFindConvolutionBackwardFilterAlgorithm(
          handle(), x, y, conv, w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
      pick(pass, perf, returned);
    }
  }

  // One call of `pass` on g's buffers, the result into out; "" or the failure's message.
  std::string run(int pass, const ConvData& g, float* out) {
    find(pass);
    if (!error.empty()) return error;
    const float one = 1.0f, zero = 0.0f;
    cudnnStatus_t s;
    if (pass == kFwd)
      s = cudnnConvolutionForward(handle(), &one, x, g.x.ptr, w, g.w.ptr, conv,
                                  cudnnConvolutionFwdAlgo_t(algo[pass]), ws[pass], ws_bytes[pass],
                                  &zero, y, out);
    else if (pass == kBwdData)
      s = cudnnConvolutionBackwardData(handle(), &one, w, g.w.ptr, y, g.dy.ptr, conv,
                                       cudnnConvolutionBwdDataAlgo_t(algo[pass]), ws[pass],
                                       ws_bytes[pass], &zero, x, out);
    else
      s = cudnnConvolutionBackwardFilter(handle(), &one, x, g.x.ptr, y, g.dy.ptr, conv,
                                         cudnnConvolutionBwdFilterAlgo_t(algo[pass]), ws[pass],
                                         ws_bytes[pass], &zero, w, out);
    return s == CUDNN_STATUS_SUCCESS ? std::string() : std::string(cudnnGetErrorString(s));
  }
};

// cuDNN's state for case c in fp32 or tf32 math (made once).
CudnnConv& cudnn_for(const ConvCase& c, bool tf32) {
  static std::map<std::pair<const ConvCase*, bool>, std::unique_ptr<CudnnConv>> all;
  std::unique_ptr<CudnnConv>& slot = all[{&c, tf32}];
  if (!slot) slot = std::make_unique<CudnnConv>(conv_desc_of(c), tf32);
  return *slot;
}

// Seconds per call of cuDNN (fp32 or tf32 math) on case c and pass: 10 calls between events after
// 3 warm-up calls, measured once per process (0 when cuDNN failed).
double cudnn_seconds(const ConvCase& c, int pass, bool tf32) {
  static std::map<std::tuple<const ConvCase*, int, bool>, double> cache;
  auto it = cache.find({&c, pass, tf32});
  if (it != cache.end()) return it->second;
  ConvData& g = data_for(c);
  CudnnConv& conv = cudnn_for(c, tf32);
  float* out = g.out(pass).ptr;
  for (int i = 0; i < 3; ++i)
    if (!conv.run(pass, g, out).empty()) return cache[{&c, pass, tf32}] = 0;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start);
  for (int i = 0; i < 10; ++i) conv.run(pass, g, out);
  cudaEventRecord(stop);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return cache[{&c, pass, tf32}] = double(ms) * 1e-4;
}

// Largest |ours - cuDNN fp32| / (1 + |cuDNN|) over pass's output (ours just written to it).
double diff_from_cudnn(const ConvCase& c, int pass) {
  ConvData& g = data_for(c);
  const DeviceBuffer& out = g.out(pass);
  std::vector<float> ours(out.n), theirs(out.n);
  cudaMemcpy(ours.data(), out.ptr, out.n * sizeof(float), cudaMemcpyDeviceToHost);
  if (!cudnn_for(c, false).run(pass, g, g.check.ptr).empty()) return -1;
  cudaMemcpy(theirs.data(), g.check.ptr, out.n * sizeof(float), cudaMemcpyDeviceToHost);
  return signet::bench::worst_relative_gap(ours, theirs);
}

// GFLOP/s, TFLOP/s (2 N K C taps P per iteration over the event time), peak_frac of math's peak.
void set_counters(benchmark::State& state, const ConvCase& c, CudaMath math) {
  signet::bench::set_cuda_flop_counters(state, conv_flops(conv_desc_of(c)), math);
}

// Signet's versions: the pass they compute, the arithmetic they run on, whether they only take
// first layers, and the call on a case's buffers.
struct Version {
  const char* impl;
  int pass;
  CudaMath math;
  bool first_layer;
  cudaError_t (*run)(ConvData&);
};
const Version kVersions[] = {
    {"signet_v2_igemm", kFwd, CudaMath::kFp32, false,
     [](ConvData& g) {
       return signet::cuda::conv_v2_igemm_forward_f32(g.d, g.x.ptr, g.w.ptr, nullptr, g.y.ptr);
     }},
    {"signet_v3_igemm_tf32", kFwd, CudaMath::kTf32, false,
     [](ConvData& g) {
       return signet::cuda::conv_v3_igemm_tf32_forward_f32(g.d, g.x.ptr, g.w.ptr, nullptr, g.y.ptr);
     }},
    {"signet_v4_igemm_bf16", kFwd, CudaMath::kBf16, false,
     [](ConvData& g) {
       return signet::cuda::conv_v4_igemm_bf16_forward_f32(g.d, g.x.ptr, g.w.ptr, nullptr, g.y.ptr);
     }},
    {"signet_first_layer", kFwd, CudaMath::kFp32, true,
     [](ConvData& g) {
       return signet::cuda::conv_first_layer_forward_f32(g.d, g.x.ptr, g.w.ptr, nullptr, g.y.ptr);
     }},
    {"signet_v2_igemm", kBwdData, CudaMath::kFp32, false,
     [](ConvData& g) {
       return signet::cuda::conv_v2_igemm_backward_data_f32(g.d, g.dy.ptr, g.w.ptr, g.dx.ptr);
     }},
    {"signet_v3_igemm_tf32", kBwdData, CudaMath::kTf32, false,
     [](ConvData& g) {
       return signet::cuda::conv_v3_igemm_tf32_backward_data_f32(g.d, g.dy.ptr, g.w.ptr, g.dx.ptr);
     }},
    {"signet_v4_igemm_bf16", kBwdData, CudaMath::kBf16, false,
     [](ConvData& g) {
       return signet::cuda::conv_v4_igemm_bf16_backward_data_f32(g.d, g.dy.ptr, g.w.ptr, g.dx.ptr);
     }},
    {"signet_v2_igemm", kBwdWeights, CudaMath::kFp32, false,
     [](ConvData& g) {
       return signet::cuda::conv_v2_igemm_backward_weights_f32(g.d, g.x.ptr, g.dy.ptr, g.dw.ptr,
                                                               nullptr, g.workspace.ptr);
     }},
    {"signet_v3_igemm_tf32", kBwdWeights, CudaMath::kTf32, false,
     [](ConvData& g) {
       return signet::cuda::conv_v3_igemm_tf32_backward_weights_f32(
           g.d, g.x.ptr, g.dy.ptr, g.dw.ptr, nullptr, g.workspace.ptr);
     }},
    {"signet_v4_igemm_bf16", kBwdWeights, CudaMath::kBf16, false,
     [](ConvData& g) {
       return signet::cuda::conv_v4_igemm_bf16_backward_weights_f32(
           g.d, g.x.ptr, g.dy.ptr, g.dw.ptr, nullptr, g.workspace.ptr);
     }},
};

// One of Signet's versions on case c, with max_rel_diff (against cudnn_fp32) and vs_cudnn
// (cuDNN's time / ours: cudnn_fp32 for the fp32 versions, cudnn_tf32 for the tensor-core ones:
// cuDNN has no bf16 math on fp32 tensors, so tf32 is the bf16 versions' nearest peer).
void bm_signet(benchmark::State& state, const ConvCase* c, const Version* v) {
  ConvData& g = data_for(*c);
  const double ours = timed(state, [&] {
    const cudaError_t e = v->run(g);
    return e == cudaSuccess ? std::string() : std::string(cudaGetErrorName(e));
  });
  set_counters(state, *c, v->math);
  static std::map<std::pair<const ConvCase*, const Version*>, double> diffs;  // once per pair
  const auto known = diffs.find({c, v});
  state.counters["max_rel_diff"] =
      known != diffs.end() ? known->second : diffs[{c, v}] = diff_from_cudnn(*c, v->pass);
  const double theirs = cudnn_seconds(*c, v->pass, v->math != CudaMath::kFp32);
  if (ours > 0 && theirs > 0) state.counters["vs_cudnn"] = theirs / ours;
}

// cuDNN on case c and pass (fp32 FMA math or tf32 tensor-op math), its algorithm as a counter.
void bm_cudnn(benchmark::State& state, const ConvCase* c, int pass, bool tf32) {
  ConvData& g = data_for(*c);
  CudnnConv& conv = cudnn_for(*c, tf32);
  timed(state, [&] { return conv.run(pass, g, g.out(pass).ptr); });
  set_counters(state, *c, tf32 ? CudaMath::kTf32 : CudaMath::kFp32);
  state.counters["algo"] = conv.algo[pass];
}

// Registers one case with the harness's hygiene and event (manual) time.
template <class Fn, class... Args>
void add(const ConvCase& c, int pass, const std::string& impl, Fn fn, Args... args) {
  signet::bench::configure(
      benchmark::RegisterBenchmark(
          signet::bench::case_name("conv", c.name, kPassNames[pass], impl, 1).c_str(), fn, &c,
          args...))
      ->UseManualTime();
}

// Every pass of case c (no first-layer backward-data): cuDNN fp32 and tf32 beside each of
// Signet's versions that computes the pass and applies to the case.
void register_case(const ConvCase& c) {
  for (int pass : {kFwd, kBwdData, kBwdWeights}) {
    if (pass == kBwdData && c.first_layer) continue;
    add(c, pass, "cudnn_fp32", bm_cudnn, pass, false);
    add(c, pass, "cudnn_tf32", bm_cudnn, pass, true);
    for (const Version& v : kVersions) {
      if (v.pass != pass) continue;
      if (v.first_layer && !signet::cuda::conv_first_layer_applies(conv_desc_of(c))) continue;
      add(c, pass, v.impl, bm_signet, &v);
    }
  }
}

// Every case: the layers, then the same at batch 64.
void register_cuda_conv_cases() {
  for (const ConvCase& c : kConvCases) register_case(c);
  for (const ConvCase& c : kBatch64Cases) register_case(c);
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_cuda_main("bench_cuda_conv", argc, argv, register_cuda_conv_cases);
}
