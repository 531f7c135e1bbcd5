// One ConvLSTM step's gate work after its convolutions, in two versions that the fused
// h-path kernel (convlstm_fused.h) is measured against (bench/bench_cuda_rnn.cpp). A step has
// batch N rows of U = hidden * plane units (a unit per (channel, position)); gates_x (the x-path
// convolution, without bias) and gates_h (the h-path one) are (N, 4 hidden, plane), gate blocks in
// (i, f, g, o) order as the LSTM cell's (kernels/common/lstm_cell.h); bias has 4 hidden values, one
// per gate channel. Out: act (N, 4U) the activated gates, c and h (N, U). No peepholes, no lengths.
// Every pointer is a device pointer; launches go to the current stream (stream.h); the launch
// status returns.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Sizes of one step: N rows, `hidden` channels, `plane` positions (H W) per channel.
struct ConvLstmStepDesc {
  int64_t batch = 0, hidden = 0, plane = 0;
};

// v1: the unfused composition a framework runs: four elementwise kernels (gate sum with bias,
// activations, new cell state, new hidden state), each a pass over memory.
cudaError_t convlstm_v1_unfused_step_f32(const ConvLstmStepDesc& d, const float* gates_x,
                                         const float* gates_h, const float* bias,
                                         const float* c_prev, float* act, float* c, float* h);

// v2: one kernel: the gate sum and the fused cell (each thread one unit's four gates): reads the
// two gate tensors once and writes act, c and h once.
cudaError_t convlstm_v2_fused_cell_step_f32(const ConvLstmStepDesc& d, const float* gates_x,
                                            const float* gates_h, const float* bias,
                                            const float* c_prev, float* act, float* c, float* h);

}  // namespace signet::cuda
