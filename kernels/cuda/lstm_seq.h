// One LSTM layer over a sequence on the device, structured as engine/ops/lstm.cpp's CPU path:
// the input projection of all steps as one GEMM, per step the recurrent GEMM (v3 register-tiled)
// and the fused cell kernel; backward per step the cell gradient kernel and the GEMM for dh_prev,
// then the input and weight gradients as one GEMM each over the whole sequence. Every pointer is
// a device pointer (lengths too; null: every sample runs all T steps); row-major, gapless, f32;
// work goes to the current stream (stream.h) and the functions return the first failing launch's
// status.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Sizes: x is (T, N, I); weights as PyTorch's w_ih (4H, I), w_hh (4H, H), gates (i, f, g, o).
// reverse runs t = T-1 .. 0 (the backward direction of a bidirectional layer).
struct LstmSeqDesc {
  int64_t steps = 0, batch = 0, input = 0, hidden = 0;
  bool reverse = false;
};

// The forward buffers: act (T, N, 4H) activated gates; hbuf and cbuf (T+1, N, H) the states,
// slot 0 (T when reverse) the initial one and slot t+1 (t) the state after step t; y (T, N, H)
// the output with zeros past each length (may be null; needed when lengths is given, since
// hbuf carries the state there). Without lengths the output is hbuf from slot 1 (0 when reverse);
// h_n and c_n are slot T (0 when reverse).
struct LstmSeqForward {
  float *act = nullptr, *hbuf = nullptr, *cbuf = nullptr, *y = nullptr;
};

// The forward's first part, shared with the persistent kernel (lstm_persistent.h): the initial
// states into their slot of hbuf and cbuf, and act = x w_ih^T + bias for every step (the
// pre-activations to which each step adds its recurrent product). Arguments as below.
cudaError_t lstm_seq_input_f32(const LstmSeqDesc& d, const float* x, const float* w_ih,
                               const float* bias, const float* h0, const float* c0,
                               const LstmSeqForward& out);

// Runs the layer: bias (4H) is b_ih + b_hh (null: none); h0, c0 (N, H) may be null (zeros).
cudaError_t lstm_seq_forward_f32(const LstmSeqDesc& d, const int64_t* lengths, const float* x,
                                 const float* w_ih, const float* w_hh, const float* bias,
                                 const float* h0, const float* c0, const LstmSeqForward& out);

// The gradients backward writes; a null one is not computed. dh and dc (N, H) must be set on
// entry to the gradients of h_n and c_n (zeros when none) and hold those of h0 and c0 on exit
// (dh only when need_h0: otherwise the last dh_prev GEMM is skipped, as on the CPU). dgates
// (T, N, 4H) is workspace and holds the pre-activation gradients on exit.
struct LstmSeqGrads {
  float *x = nullptr, *w_ih = nullptr, *w_hh = nullptr, *bias = nullptr;
  float *dh = nullptr, *dc = nullptr, *dgates = nullptr;
  bool need_h0 = false;
};

// Back-propagates through the layer from its saved x, weights and forward buffers; dy (T, N, H,
// may be null) is the gradient of the output.
cudaError_t lstm_seq_backward_f32(const LstmSeqDesc& d, const int64_t* lengths, const float* x,
                                  const float* w_ih, const float* w_hh, const LstmSeqForward& fwd,
                                  const float* dy, const LstmSeqGrads& g);

}  // namespace signet::cuda
