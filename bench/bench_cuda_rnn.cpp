// Recurrent layers on the cuda device. LSTM: Signet's sequence driver (signet::cuda::lstm_seq_*:
// the input projection as one GEMM, per step the v3 register-tiled recurrent GEMM and the fused
// cell kernel; backward per step the cell gradient and the dh GEMM, then one GEMM per weight
// gradient) beside cuDNN's cudnnRNNForward / cudnnRNNBackwardData_v8 / cudnnRNNBackwardWeights_v8
// with CUDNN_RNN_ALGO_STANDARD and CUDNN_RNN_ALGO_PERSIST_STATIC (fp32, CUDNN_FMA_MATH, double
// bias, unidirectional, no dropout), on the CPU issue's LSTM cases (bench_rnn.cpp: L1, L2, S at
// batch 32) and their batch 8 and 128 versions, with the same weights on both sides (copied into
// cuDNN's weight space through cudnnGetRNNWeightParams; b_ih = our summed bias, b_hh = 0) and the
// same x (SEQ_MAJOR_PACKED with every sequence T long: the bytes of our (T, N, I)).
// v2_persistent (batch 32 and under): the same with the forward's steps in the persistent kernel
// (lstm_persistent.h: one cooperative launch, each block's W_hh rows in shared memory, a grid
// barrier per step; backward as v1_seq), the counterpart of cuDNN's PERSIST_STATIC.
// Directions as bench_rnn.cpp: fwd_infer (cuDNN's inference mode), fwd_train (training mode, with
// what backward needs), fwd_bwd (training forward, backward data from a fixed random dy to x,
// backward weights; cuDNN's weight gradients are zeroed inside the timing, since it only adds).
// ConvLSTM (cuDNN has none): T16 B8 in64 hid64 32x32 3x3 'same', one layer. The peer,
// cudnn_unfused (forward): the x-path convolution of all steps as one cudnnConvolutionForward, then
// per step cudnnConvolutionForward of h and the four unfused gate kernels of convlstm_step.h (v1).
// Ours: v2_fused_cell, the same with Signet's implicit-GEMM convolution (conv_igemm.h v2) and one
// fused gate-sum + cell kernel; v3_fused (convlstm_fused.h), the h-path convolution with the cell
// in its epilogue (the gates never stored), forward and fwd_bwd (backward: per step the cell
// gradient and the h-path backward-data convolution, then the x, weight and bias gradients as
// batched convolutions; no peer, the goal compares forward steps). cuDNN's algorithm: the
// fastest cudnnFind reports, FMA math.
// FLOP formulas (the cell's elementwise work is not counted):
//   LSTM forward     F = sum over layers 2 T N 4H (I_l + H)
//   LSTM fwd_bwd     3F
//   ConvLSTM fwd     F = T 2 N 4hid (C + hid) k^2 H W
//   ConvLSTM fwd_bwd 3F
// Counters: GFLOP/s, TFLOP/s and peak_frac (of the fp32 peak, bench/cuda_bench.h); max_rel_diff on
// ours = max |ours - cuDNN STANDARD| / (1 + |cuDNN|) over the output and dx (LSTM) or the last h
// (ConvLSTM), a check that both computed the same thing. Each iteration is timed with CUDA events
// (manual time); impl names carry t1 (one stream). Without a CUDA device the program says so in
// one line and exits 0.
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/cuda_bench.h"
#include "bench/harness.h"
#include "bench/rnn_cases.h"
#include "kernels/common/conv_desc.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/convlstm_fused.h"
#include "kernels/cuda/convlstm_step.h"
#include "kernels/cuda/lstm_cell.h"
#include "kernels/cuda/lstm_persistent.h"
#include "kernels/cuda/lstm_seq.h"

namespace {

using signet::bench::CudaMath;
using signet::bench::DeviceBuffer;
using signet::bench::timed;

using signet::bench::kLstmBatchCases;
using signet::bench::kLstmCases;
using signet::bench::LstmCase;

enum Dir { kFwdInfer, kFwdTrain, kFwdBwd };
const char* const kDirNames[] = {"fwd_infer", "fwd_train", "fwd_bwd"};

// F of the LSTM formula above.
double lstm_forward_flops(const LstmCase& c) {
  double f = 0;
  for (int64_t l = 0; l < c.layers; ++l)
    f += 2.0 * c.T * c.N * 4 * c.H * ((l == 0 ? c.I : c.H) + c.H);
  return f;
}

// "" for success, else the CUDA error's name.
std::string cuda_status(cudaError_t e) {
  return e == cudaSuccess ? std::string() : std::string(cudaGetErrorName(e));
}

// "" for success, else cuDNN's error string.
std::string cudnn_status(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? std::string() : std::string(cudnnGetErrorString(s));
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

// A zeroed device buffer of n floats (at least one).
std::unique_ptr<DeviceBuffer> zeroed(int64_t n) {
  return std::make_unique<DeviceBuffer>(std::max<int64_t>(n, 1), 0.0f);
}

// n floats of a device buffer, on the host.
std::vector<float> host_copy(const float* p, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  cudaMemcpy(v.data(), p, size_t(n) * sizeof(float), cudaMemcpyDeviceToHost);
  return v;
}

// One layer's weights, forward buffers and gradients, all on the device.
struct LstmLayer {
  signet::cuda::LstmSeqDesc d;
  std::unique_ptr<DeviceBuffer> w_ih, w_hh, bias, act, hbuf, cbuf;
  std::unique_ptr<DeviceBuffer> dx, dw_ih, dw_hh, dbias, dh, dc, dgates;
  // Allocates layer l of case c (weights uniform in [-1, 1) scaled by 1/sqrt(H) from seed).
  LstmLayer(const LstmCase& c, int64_t l, uint32_t seed) {
    const int64_t in = l == 0 ? c.I : c.H, G = 4 * c.H;
    d = {c.T, c.N, in, c.H, false};
    w_ih = std::make_unique<DeviceBuffer>(G * in, seed);
    w_hh = std::make_unique<DeviceBuffer>(G * c.H, seed + 1);
    bias = std::make_unique<DeviceBuffer>(G, seed + 2);
    act = zeroed(c.T * c.N * G);
    hbuf = zeroed((c.T + 1) * c.N * c.H);
    cbuf = zeroed((c.T + 1) * c.N * c.H);
    dx = zeroed(c.T * c.N * in);
    dw_ih = zeroed(G * in);
    dw_hh = zeroed(G * c.H);
    dbias = zeroed(G);
    dh = zeroed(c.N * c.H);
    dc = zeroed(c.N * c.H);
    dgates = zeroed(c.T * c.N * G);
  }
  // The layer's output (T, N, H): hbuf from slot 1.
  float* output() const { return hbuf->ptr + d.batch * d.hidden; }
};

// cuDNN's RNN for one case and algorithm: descriptors, weight spaces (ours copied in), work and
// reserve spaces for inference and training, device sequence lengths; error: the first failure.
struct CudnnLstm {
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnRNNDataDescriptor_t x_desc = nullptr, y_desc = nullptr;
  cudnnTensorDescriptor_t h_desc = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  size_t weight_bytes = 0, work_bytes[2] = {0, 0}, reserve_bytes = 0;
  void *weights = nullptr, *dweights = nullptr, *work[2] = {nullptr, nullptr}, *reserve = nullptr;
  void* dropout_states = nullptr;
  int32_t* seq_lengths = nullptr;
  std::unique_ptr<DeviceBuffer> dx, y;
  std::string error;

  // Describes case c for `algo` and copies the weights of `layers` into cuDNN's weight space.
  CudnnLstm(const LstmCase& c, cudnnRNNAlgo_t algo, const std::vector<LstmLayer>& layers) {
    check(cudnnCreateDropoutDescriptor(&dropout));
    size_t state_bytes = 0;
    check(cudnnDropoutGetStatesSize(handle(), &state_bytes));
    cudaMalloc(&dropout_states, std::max<size_t>(state_bytes, 1));
    check(cudnnSetDropoutDescriptor(dropout, handle(), 0.0f, dropout_states, state_bytes, 0));
    check(cudnnCreateRNNDescriptor(&rnn));
    check(cudnnSetRNNDescriptor_v8(
        rnn, algo, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT,
        CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, int32_t(c.I), int32_t(c.H),
        int32_t(c.H), int32_t(c.layers), dropout, CUDNN_RNN_PADDED_IO_DISABLED));
    const std::vector<int> lengths(size_t(c.N), int(c.T));
    check(cudnnCreateRNNDataDescriptor(&x_desc));
    check(cudnnCreateRNNDataDescriptor(&y_desc));
    check(cudnnSetRNNDataDescriptor(x_desc, CUDNN_DATA_FLOAT,
                                    CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, int(c.T), int(c.N),
                                    int(c.I), lengths.data(), nullptr));
    check(cudnnSetRNNDataDescriptor(y_desc, CUDNN_DATA_FLOAT,
                                    CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, int(c.T), int(c.N),
                                    int(c.H), lengths.data(), nullptr));
    const int dims[3] = {int(c.layers), int(c.N), int(c.H)};
    const int strides[3] = {int(c.N * c.H), int(c.H), 1};
    check(cudnnCreateTensorDescriptor(&h_desc));
    check(cudnnSetTensorNdDescriptor(h_desc, CUDNN_DATA_FLOAT, 3, dims, strides));
    cudaMalloc(reinterpret_cast<void**>(&seq_lengths), lengths.size() * sizeof(int32_t));
    cudaMemcpy(seq_lengths, lengths.data(), lengths.size() * sizeof(int32_t),
               cudaMemcpyHostToDevice);
    check(cudnnGetRNNWeightSpaceSize(handle(), rnn, &weight_bytes));
    size_t unused = 0;
    check(cudnnGetRNNTempSpaceSizes(handle(), rnn, CUDNN_FWD_MODE_INFERENCE, x_desc, &work_bytes[0],
                                    &unused));
    check(cudnnGetRNNTempSpaceSizes(handle(), rnn, CUDNN_FWD_MODE_TRAINING, x_desc, &work_bytes[1],
                                    &reserve_bytes));
    if (!error.empty()) return;
    for (void** p : {&weights, &dweights, &work[0], &work[1], &reserve}) {
      const size_t bytes = p == &weights || p == &dweights ? weight_bytes
                           : p == &reserve                 ? reserve_bytes
                           : p == &work[0]                 ? work_bytes[0]
                                                           : work_bytes[1];
      cudaMalloc(p, std::max<size_t>(bytes, 1));
    }
    cudaMemset(weights, 0, weight_bytes);
    for (int64_t l = 0; l < c.layers && error.empty(); ++l) copy_layer(c, l, layers[size_t(l)]);
    y = zeroed(c.T * c.N * c.H);
    dx = zeroed(c.T * c.N * c.I);
  }
  ~CudnnLstm() {
    for (void* p : {weights, dweights, work[0], work[1], reserve, dropout_states}) cudaFree(p);
    cudaFree(seq_lengths);
    cudnnDestroyTensorDescriptor(h_desc);
    cudnnDestroyRNNDataDescriptor(x_desc);
    cudnnDestroyRNNDataDescriptor(y_desc);
    cudnnDestroyRNNDescriptor(rnn);
    cudnnDestroyDropoutDescriptor(dropout);
  }
  CudnnLstm(const CudnnLstm&) = delete;
  CudnnLstm& operator=(const CudnnLstm&) = delete;

  // Keeps the first failing status.
  void check(cudnnStatus_t s) {
    if (error.empty()) error = cudnn_status(s);
  }

  // Copies layer l's gate blocks (i, f, g, o: cuDNN's linLayerID 0-3 input, 4-7 recurrent, the
  // same order as PyTorch's rows) and our summed bias as b_ih (b_hh stays 0).
  void copy_layer(const LstmCase& c, int64_t l, const LstmLayer& w) {
    cudnnTensorDescriptor_t m_desc = nullptr, b_desc = nullptr;
    check(cudnnCreateTensorDescriptor(&m_desc));
    check(cudnnCreateTensorDescriptor(&b_desc));
    const int64_t H = c.H;
    for (int id = 0; id < 8 && error.empty(); ++id) {
      void *m = nullptr, *b = nullptr;
      check(cudnnGetRNNWeightParams(handle(), rnn, int32_t(l), weight_bytes, weights, id, m_desc,
                                    &m, b_desc, &b));
      const int64_t cols = id < 4 ? w.d.input : H, gate = id % 4;
      const float* src = (id < 4 ? w.w_ih->ptr : w.w_hh->ptr) + gate * H * cols;
      cudaMemcpy(m, src, size_t(H * cols) * sizeof(float), cudaMemcpyDeviceToDevice);
      if (id < 4)
        cudaMemcpy(b, w.bias->ptr + gate * H, size_t(H) * sizeof(float), cudaMemcpyDeviceToDevice);
    }
    cudnnDestroyTensorDescriptor(m_desc);
    cudnnDestroyTensorDescriptor(b_desc);
  }

  // One pass of `dir` on x (and dy for fwd_bwd); "" or the first failure.
  std::string run(Dir dir, const float* x, const float* dy) {
    const int train = dir == kFwdInfer ? 0 : 1;
    cudnnStatus_t s =
        cudnnRNNForward(handle(), rnn, train ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                        seq_lengths, x_desc, x, y_desc, y->ptr, h_desc, nullptr, nullptr, h_desc,
                        nullptr, nullptr, weight_bytes, weights, work_bytes[train], work[train],
                        train ? reserve_bytes : 0, train ? reserve : nullptr);
    if (s != CUDNN_STATUS_SUCCESS || dir != kFwdBwd) return cudnn_status(s);
    s = cudnnRNNBackwardData_v8(handle(), rnn, seq_lengths, y_desc, y->ptr, dy, x_desc, dx->ptr,
                                h_desc, nullptr, nullptr, nullptr, h_desc, nullptr, nullptr,
                                nullptr, weight_bytes, weights, work_bytes[1], work[1],
                                reserve_bytes, reserve);
    if (s != CUDNN_STATUS_SUCCESS) return cudnn_status(s);
    const cudaError_t e = cudaMemsetAsync(dweights, 0, weight_bytes, nullptr);
    if (e != cudaSuccess) return cuda_status(e);
    return cudnn_status(cudnnRNNBackwardWeights_v8(
        handle(), rnn, CUDNN_WGRAD_MODE_ADD, seq_lengths, x_desc, x, h_desc, nullptr, y_desc,
        y->ptr, weight_bytes, dweights, work_bytes[1], work[1], reserve_bytes, reserve));
  }
};

// A case's input, upstream gradient and layers (ours), shared by every implementation.
struct LstmData {
  std::unique_ptr<DeviceBuffer> x, dy;
  std::vector<LstmLayer> layers;
  // max_rel_diff of ours (v1_seq, v2_persistent) against cuDNN STANDARD (-2 until measured).
  double check[2] = {-2, -2};

  // Allocates and fills case c.
  explicit LstmData(const LstmCase& c)
      : x(std::make_unique<DeviceBuffer>(c.T * c.N * c.I, 1u)),
        dy(std::make_unique<DeviceBuffer>(c.T * c.N * c.H, 2u)) {
    for (int64_t l = 0; l < c.layers; ++l) layers.emplace_back(c, l, uint32_t(10 + 10 * l));
    // Weights in [-1/sqrt(H), 1/sqrt(H)) as PyTorch initialises them: scale the [-1, 1) fill.
    for (LstmLayer& w : layers) scale_weights(c, w);
  }

  // Multiplies a layer's weights and bias by 1/sqrt(H) (on the host: once per case).
  static void scale_weights(const LstmCase& c, LstmLayer& w) {
    const float k = 1.0f / std::sqrt(float(c.H));
    for (auto [buf, n] :
         {std::pair{w.w_ih.get(), 4 * c.H * w.d.input}, std::pair{w.w_hh.get(), 4 * c.H * c.H},
          std::pair{w.bias.get(), 4 * c.H}}) {
      std::vector<float> v = host_copy(buf->ptr, n);
      for (float& e : v) e *= k;
      cudaMemcpy(buf->ptr, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice);
    }
  }

  // Our forward (and backward for fwd_bwd) through every layer, the forward's steps persistent or
  // per step; "" or the first failure.
  std::string run(Dir dir, bool persistent) {
    const float* in = x->ptr;
    for (LstmLayer& w : layers) {
      const signet::cuda::LstmSeqForward fwd{w.act->ptr, w.hbuf->ptr, w.cbuf->ptr, nullptr};
      const cudaError_t e =
          persistent
              ? signet::cuda::lstm_persistent_forward_f32(
                    w.d, nullptr, in, w.w_ih->ptr, w.w_hh->ptr, w.bias->ptr, nullptr, nullptr, fwd)
              : signet::cuda::lstm_seq_forward_f32(w.d, nullptr, in, w.w_ih->ptr, w.w_hh->ptr,
                                                   w.bias->ptr, nullptr, nullptr, fwd);
      if (e != cudaSuccess) return cuda_status(e);
      in = w.output();
    }
    if (dir != kFwdBwd) return "";
    const float* dout = dy->ptr;
    for (size_t l = layers.size(); l-- > 0;) {
      LstmLayer& w = layers[l];
      const size_t state_bytes = size_t(w.d.batch * w.d.hidden) * sizeof(float);
      cudaMemsetAsync(w.dh->ptr, 0, state_bytes, nullptr);
      cudaMemsetAsync(w.dc->ptr, 0, state_bytes, nullptr);
      const float* layer_in = l == 0 ? x->ptr : layers[l - 1].output();
      const cudaError_t e =
          signet::cuda::lstm_seq_backward_f32(w.d, nullptr, layer_in, w.w_ih->ptr, w.w_hh->ptr,
                                              {w.act->ptr, w.hbuf->ptr, w.cbuf->ptr, nullptr}, dout,
                                              {w.dx->ptr, w.dw_ih->ptr, w.dw_hh->ptr, w.dbias->ptr,
                                               w.dh->ptr, w.dc->ptr, w.dgates->ptr, false});
      if (e != cudaSuccess) return cuda_status(e);
      dout = w.dx->ptr;
    }
    return "";
  }
};

// Builds (once) the data of case c.
LstmData& lstm_data(const LstmCase& c) {
  static std::map<const LstmCase*, std::unique_ptr<LstmData>> all;
  std::unique_ptr<LstmData>& slot = all[&c];
  if (!slot) slot = std::make_unique<LstmData>(c);
  return *slot;
}

// Builds (once) cuDNN's RNN of case c and algo.
CudnnLstm& cudnn_lstm(const LstmCase& c, cudnnRNNAlgo_t algo) {
  static std::map<std::pair<const LstmCase*, int>, std::unique_ptr<CudnnLstm>> all;
  std::unique_ptr<CudnnLstm>& slot = all[{&c, int(algo)}];
  if (!slot) slot = std::make_unique<CudnnLstm>(c, algo, lstm_data(c).layers);
  return *slot;
}

// max |ours - cuDNN STANDARD| / (1 + |cuDNN|) over the top layer's output and dx of one fwd_bwd.
double lstm_check(const LstmCase& c, bool persistent) {
  LstmData& d = lstm_data(c);
  CudnnLstm& peer = cudnn_lstm(c, CUDNN_RNN_ALGO_STANDARD);
  if (!peer.error.empty() || !d.run(kFwdBwd, persistent).empty() ||
      !peer.run(kFwdBwd, d.x->ptr, d.dy->ptr).empty())
    return -1;
  cudaDeviceSynchronize();
  const int64_t ny = c.T * c.N * c.H, nx = c.T * c.N * c.I;
  return std::max(signet::bench::worst_relative_gap(host_copy(d.layers.back().output(), ny),
                                                    host_copy(peer.y->ptr, ny)),
                  signet::bench::worst_relative_gap(host_copy(d.layers[0].dx->ptr, nx),
                                                    host_copy(peer.dx->ptr, nx)));
}

// Ours on case c in direction dir: the lstm_seq driver, or its forward steps persistent.
void bm_lstm_signet(benchmark::State& state, const LstmCase* c, Dir dir, bool persistent) {
  LstmData& d = lstm_data(*c);
  if (d.check[persistent] < -1) d.check[persistent] = lstm_check(*c, persistent);
  timed(state, [&] { return d.run(dir, persistent); });
  signet::bench::set_cuda_flop_counters(state, (dir == kFwdBwd ? 3 : 1) * lstm_forward_flops(*c),
                                        CudaMath::kFp32);
  state.counters["max_rel_diff"] = d.check[persistent];
}

// The peer: cuDNN's RNN with `algo` on case c in direction dir.
void bm_lstm_cudnn(benchmark::State& state, const LstmCase* c, Dir dir, cudnnRNNAlgo_t algo) {
  LstmData& d = lstm_data(*c);
  CudnnLstm& peer = cudnn_lstm(*c, algo);
  if (!peer.error.empty()) {
    state.SkipWithError(("cuDNN set-up: " + peer.error).c_str());
    return;
  }
  timed(state, [&] { return peer.run(dir, d.x->ptr, d.dy->ptr); });
  signet::bench::set_cuda_flop_counters(state, (dir == kFwdBwd ? 3 : 1) * lstm_forward_flops(*c),
                                        CudaMath::kFp32);
}

// The ConvLSTM case: T16 B8, 64 -> 64 channels, 32x32 maps, 3x3 kernels, one layer.
constexpr int64_t kCT = 16, kCN = 8, kCC = 64, kCHid = 64, kCHW = 32, kCK = 3;
constexpr int64_t kCPlane = kCHW * kCHW, kCUnits = kCHid * kCPlane, kCGates = 4 * kCUnits;

// F of the ConvLSTM formula above.
double conv_lstm_forward_flops() {
  return kCT * 2.0 * kCN * 4 * kCHid * (kCC + kCHid) * kCK * kCK * kCPlane;
}

// The 'same' 3x3 convolution of `batch` images of `channels` channels into the 4 hid gates.
signet::kernels::ConvDesc conv_lstm_conv(int64_t batch, int64_t channels) {
  signet::kernels::ConvDesc d;
  d.n = batch;
  d.c = channels;
  d.k = 4 * kCHid;
  for (int s = 1; s < 3; ++s) {
    d.in[s] = d.out[s] = kCHW;
    d.kernel[s] = kCK;
    d.pad[s] = kCK / 2;
  }
  return d;
}

// The ConvLSTM buffers: input, weights, bias (4 hid), x-path gates of every step, the per-step
// h-path gates, activated gates and the states (T+1 slots each), shared by ours and the peer.
struct ConvLstmData {
  DeviceBuffer x{kCT * kCN * kCC * kCPlane, 1u}, w_x{4 * kCHid * kCC * kCK * kCK, 2u},
      w_h{4 * kCHid * kCHid * kCK * kCK, 3u}, bias{4 * kCHid, 4u};
  DeviceBuffer gates_x{kCT * kCN * kCGates, 0.0f}, gates_h{kCN * kCGates, 0.0f},
      act{kCN * kCGates, 0.0f}, h{(kCT + 1) * kCN * kCUnits, 0.0f},
      c{(kCT + 1) * kCN * kCUnits, 0.0f};
};

// The ConvLSTM buffers, made once.
ConvLstmData& conv_lstm_data() {
  static ConvLstmData d;
  return d;
}

// cuDNN's descriptors of the two ConvLSTM convolutions and their fastest forward algorithms.
struct CudnnConvLstm {
  cudnnTensorDescriptor_t x_all = nullptr, gates_all = nullptr, h = nullptr, gates = nullptr;
  cudnnFilterDescriptor_t w_x = nullptr, w_h = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t algo_x{}, algo_h{};
  size_t ws_bytes = 0;
  void* ws = nullptr;
  std::string error;

  // Describes the case's tensors and convolutions and finds the fastest algorithms.
  CudnnConvLstm() {
    const int k = int(kCK), hw = int(kCHW), g = int(4 * kCHid);
    check(cudnnCreateTensorDescriptor(&x_all));
    check(cudnnCreateTensorDescriptor(&gates_all));
    check(cudnnCreateTensorDescriptor(&h));
    check(cudnnCreateTensorDescriptor(&gates));
    check(cudnnCreateFilterDescriptor(&w_x));
    check(cudnnCreateFilterDescriptor(&w_h));
    check(cudnnCreateConvolutionDescriptor(&conv));
    check(cudnnSetTensor4dDescriptor(x_all, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(kCT * kCN),
                                     int(kCC), hw, hw));
    check(cudnnSetTensor4dDescriptor(gates_all, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(kCT * kCN),
                                     g, hw, hw));
    check(cudnnSetTensor4dDescriptor(h, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(kCN), int(kCHid),
                                     hw, hw));
    check(cudnnSetTensor4dDescriptor(gates, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(kCN), g, hw,
                                     hw));
    check(cudnnSetFilter4dDescriptor(w_x, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g, int(kCC), k, k));
    check(
        cudnnSetFilter4dDescriptor(w_h, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g, int(kCHid), k, k));
    check(cudnnSetConvolution2dDescriptor(conv, k / 2, k / 2, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT));
    check(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
    algo_x = fastest(x_all, w_x, gates_all);
    algo_h = fastest(h, w_h, gates);
    if (!error.empty()) return;
    size_t bx = 0, bh = 0;
    check(cudnnGetConvolutionForwardWorkspaceSize(handle(), x_all, w_x, conv, gates_all, algo_x,
                                                  &bx));
    check(cudnnGetConvolutionForwardWorkspaceSize(handle(), h, w_h, conv, gates, algo_h, &bh));
    ws_bytes = std::max(bx, bh);
    cudaMalloc(&ws, std::max<size_t>(ws_bytes, 1));
  }
  ~CudnnConvLstm() { cudaFree(ws); }
  CudnnConvLstm(const CudnnConvLstm&) = delete;
  CudnnConvLstm& operator=(const CudnnConvLstm&) = delete;

  // Keeps the first failing status.
  void check(cudnnStatus_t s) {
    if (error.empty()) error = cudnn_status(s);
  }

  // The fastest algorithm cudnnFindConvolutionForwardAlgorithm reports for (x, w) -> y.
  cudnnConvolutionFwdAlgo_t fastest(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                                    cudnnTensorDescriptor_t y) {
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int found = 0;
    check(cudnnFindConvolutionForwardAlgorithm(handle(), x, w, conv, y, 8, &found, perf));
    for (int i = 0; i < found; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) return perf[i].algo;
    if (error.empty()) error = "no forward algorithm";
    return CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  }

  // One forward over the sequence; "" or the first failure.
  std::string run(ConvLstmData& d) {
    const float one = 1.0f, zero = 0.0f;
    cudnnStatus_t s =
        cudnnConvolutionForward(handle(), &one, x_all, d.x.ptr, w_x, d.w_x.ptr, conv, algo_x, ws,
                                ws_bytes, &zero, gates_all, d.gates_x.ptr);
    for (int64_t t = 0; t < kCT && s == CUDNN_STATUS_SUCCESS; ++t) {
      s = cudnnConvolutionForward(handle(), &one, h, d.h.ptr + t * kCN * kCUnits, w_h, d.w_h.ptr,
                                  conv, algo_h, ws, ws_bytes, &zero, gates, d.gates_h.ptr);
      if (s != CUDNN_STATUS_SUCCESS) break;
      const cudaError_t e = signet::cuda::convlstm_v1_unfused_step_f32(
          {kCN, kCHid, kCPlane}, d.gates_x.ptr + t * kCN * kCGates, d.gates_h.ptr, d.bias.ptr,
          d.c.ptr + t * kCN * kCUnits, d.act.ptr, d.c.ptr + (t + 1) * kCN * kCUnits,
          d.h.ptr + (t + 1) * kCN * kCUnits);
      if (e != cudaSuccess) return cuda_status(e);
    }
    return cudnn_status(s);
  }
};

// cuDNN's ConvLSTM convolutions, described (and their algorithms found) once.
CudnnConvLstm& cudnn_conv_lstm() {
  static CudnnConvLstm c;
  return c;
}

// Ours: our implicit-GEMM convolutions, the gate sum and the fused cell; "" or the first failure.
std::string conv_lstm_signet(ConvLstmData& d) {
  cudaError_t e = signet::cuda::conv_v2_igemm_forward_f32(conv_lstm_conv(kCT * kCN, kCC), d.x.ptr,
                                                          d.w_x.ptr, nullptr, d.gates_x.ptr);
  for (int64_t t = 0; t < kCT && e == cudaSuccess; ++t) {
    e = signet::cuda::conv_v2_igemm_forward_f32(
        conv_lstm_conv(kCN, kCHid), d.h.ptr + t * kCN * kCUnits, d.w_h.ptr, nullptr, d.gates_h.ptr);
    if (e == cudaSuccess)
      e = signet::cuda::convlstm_v2_fused_cell_step_f32(
          {kCN, kCHid, kCPlane}, d.gates_x.ptr + t * kCN * kCGates, d.gates_h.ptr, d.bias.ptr,
          d.c.ptr + t * kCN * kCUnits, d.act.ptr, d.c.ptr + (t + 1) * kCN * kCUnits,
          d.h.ptr + (t + 1) * kCN * kCUnits);
  }
  return cuda_status(e);
}

// The v3 layer's descriptor, workspace, x-path/activation buffer (T N 4U) and gradients.
struct ConvLstmFused {
  signet::kernels::ConvLstmDesc d{kCT, kCN, kCC, kCHid, kCHW, kCHW, kCK, 0};
  DeviceBuffer act{kCT * kCN * kCGates, 0.0f}, dy{kCT * kCN * kCUnits, 5u}, dh{kCN * kCUnits, 0.0f},
      dc{kCN * kCUnits, 0.0f}, dgates{kCT * kCN * kCGates, 0.0f},
      dx{kCT * kCN * kCC * kCPlane, 0.0f}, dw_x{4 * kCHid * kCC * kCK * kCK, 0.0f},
      dw_h{4 * kCHid * kCHid * kCK * kCK, 0.0f}, dbias{4 * kCHid, 0.0f};
  DeviceBuffer workspace{int64_t(signet::cuda::convlstm_seq_workspace_bytes(d) / sizeof(float)) + 1,
                         0.0f};

  // One forward (and backward when `backward`) over the case; "" or the first failure.
  std::string run(ConvLstmData& data, bool backward) {
    const signet::kernels::ConvLstmBuffers fwd{act.ptr, data.h.ptr, data.c.ptr, nullptr};
    cudaError_t e = signet::cuda::convlstm_v3_fused_forward_f32(
        d, nullptr, data.x.ptr, data.w_x.ptr, data.w_h.ptr, data.bias.ptr, {}, nullptr, nullptr,
        fwd, workspace.ptr);
    if (e != cudaSuccess || !backward) return cuda_status(e);
    const size_t state_bytes = size_t(kCN * kCUnits) * sizeof(float);
    cudaMemsetAsync(dh.ptr, 0, state_bytes, nullptr);
    cudaMemsetAsync(dc.ptr, 0, state_bytes, nullptr);
    signet::kernels::ConvLstmGrads g;
    g.x = dx.ptr;
    g.w_x = dw_x.ptr;
    g.w_h = dw_h.ptr;
    g.bias = dbias.ptr;
    g.dh = dh.ptr;
    g.dc = dc.ptr;
    g.dgates = dgates.ptr;
    e = signet::cuda::convlstm_v3_fused_backward_f32(
        d, nullptr, data.x.ptr, data.w_x.ptr, data.w_h.ptr, {}, fwd, dy.ptr, g, workspace.ptr);
    return cuda_status(e);
  }
};

// The v3 layer's buffers, made once.
ConvLstmFused& conv_lstm_fused() {
  static ConvLstmFused f;
  return f;
}

// max |ours - cuDNN| / (1 + |cuDNN|) over the last h of one forward each, ours by `version`.
double conv_lstm_check(int version) {
  ConvLstmData& d = conv_lstm_data();
  const float* last = d.h.ptr + kCT * kCN * kCUnits;
  if (!cudnn_conv_lstm().error.empty() || !cudnn_conv_lstm().run(d).empty()) return -1;
  cudaDeviceSynchronize();
  const std::vector<float> theirs = host_copy(last, kCN * kCUnits);
  const std::string e = version == 2 ? conv_lstm_signet(d) : conv_lstm_fused().run(d, false);
  if (!e.empty()) return -1;
  cudaDeviceSynchronize();
  return signet::bench::worst_relative_gap(host_copy(last, kCN * kCUnits), theirs);
}

// Ours on the ConvLSTM case: v2_fused_cell forward.
void bm_conv_lstm_signet(benchmark::State& state) {
  static const double check = conv_lstm_check(2);
  ConvLstmData& d = conv_lstm_data();
  timed(state, [&] { return conv_lstm_signet(d); });
  signet::bench::set_cuda_flop_counters(state, conv_lstm_forward_flops(), CudaMath::kFp32);
  state.counters["max_rel_diff"] = check;
}

// Ours on the ConvLSTM case: v3_fused, forward or forward + backward.
void bm_conv_lstm_fused(benchmark::State& state, bool backward) {
  static const double check = conv_lstm_check(3);
  ConvLstmData& d = conv_lstm_data();
  timed(state, [&] { return conv_lstm_fused().run(d, backward); });
  signet::bench::set_cuda_flop_counters(state, (backward ? 3 : 1) * conv_lstm_forward_flops(),
                                        CudaMath::kFp32);
  state.counters["max_rel_diff"] = check;
}

// The peer on the ConvLSTM case, forward.
void bm_conv_lstm_cudnn(benchmark::State& state) {
  CudnnConvLstm& peer = cudnn_conv_lstm();
  if (!peer.error.empty()) {
    state.SkipWithError(("cuDNN set-up: " + peer.error).c_str());
    return;
  }
  ConvLstmData& d = conv_lstm_data();
  timed(state, [&] { return peer.run(d); });
  signet::bench::set_cuda_flop_counters(state, conv_lstm_forward_flops(), CudaMath::kFp32);
}

// Registers one case with the harness's hygiene and event (manual) time.
template <class Fn, class... Args>
void add(const std::string& op, const std::string& cas, const std::string& dir,
         const std::string& impl, Fn fn, Args... args) {
  signet::bench::configure(
      benchmark::RegisterBenchmark(signet::bench::case_name(op, cas, dir, impl, 1).c_str(), fn,
                                   args...))
      ->UseManualTime();
}

// Every case, ours beside cuDNN's.
void register_cuda_rnn_cases() {
  std::vector<const LstmCase*> cases;
  for (const LstmCase& c : kLstmCases) cases.push_back(&c);
  for (const LstmCase& c : kLstmBatchCases) cases.push_back(&c);
  for (const LstmCase* cp : cases)
    for (Dir dir : {kFwdInfer, kFwdTrain, kFwdBwd}) {
      const LstmCase& c = *cp;
      add("lstm", c.name, kDirNames[dir], "v1_seq", bm_lstm_signet, &c, dir, false);
      if (c.N <= signet::cuda::kLstmPersistentMaxBatch)
        add("lstm", c.name, kDirNames[dir], "v2_persistent", bm_lstm_signet, &c, dir, true);
      add("lstm", c.name, kDirNames[dir], "cudnn_standard", bm_lstm_cudnn, &c, dir,
          CUDNN_RNN_ALGO_STANDARD);
      add("lstm", c.name, kDirNames[dir], "cudnn_persist_static", bm_lstm_cudnn, &c, dir,
          CUDNN_RNN_ALGO_PERSIST_STATIC);
    }
  const std::string conv_case = "T16_B8_in64_hid64_32x32_k3";
  add("convlstm", conv_case, "fwd", "v3_fused", bm_conv_lstm_fused, false);
  add("convlstm", conv_case, "fwd", "v2_fused_cell", bm_conv_lstm_signet);
  add("convlstm", conv_case, "fwd", "cudnn_unfused", bm_conv_lstm_cudnn);
  add("convlstm", conv_case, "fwd_bwd", "v3_fused", bm_conv_lstm_fused, true);
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_cuda_main("bench_cuda_rnn", argc, argv, register_cuda_rnn_cases);
}
