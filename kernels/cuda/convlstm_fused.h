// ConvLSTM layer on the device with the h-path convolution and the gate math fused (v3, after
// convlstm_step.h's v1 unfused and v2 fused-cell steps): per step one kernel computes the h-path
// convolution as an implicit GEMM on the 128x128 register tile of conv_igemm.h's v2 and applies the
// cell in its epilogue, so the h-path gates never go to memory. Its weight rows are interleaved
// (row 4 ch + q for gate q of channel ch) so that each thread's 8 x 8 accumulator holds all four
// gates of two channels at eight positions. The x-path is one batched convolution over all T
// steps before the loop. Backward per step: the cell gradient kernel (peepholes included) and the
// h-path backward-data convolution; then the x-path data, both weight and the bias gradients as
// one batched convolution each over the whole sequence, and the peephole gradients as sums.
//
// Math (gate order (i, f, g, o) as kernels/common/lstm_cell.h; a the convolutions' sum + bias;
// p_i, p_f, p_o the peepholes, per channel or per position, 0 without):
//   i = sigmoid(a_i + p_i c_prev), f = sigmoid(a_f + p_f c_prev), g = tanh(a_g),
//   c = f c_prev + i g,  o = sigmoid(a_o + p_o c),  h = o tanh(c).
// Shapes and buffers: kernels/common/convlstm_desc.h. Lengths (device i64 (N), null: all T)
// freeze a sample's state past its length, zero its output and send no gradient from the padding.
// Every pointer is a device pointer; launches go to the current stream (stream.h); functions return
// the first failing launch's status.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/convlstm_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Device bytes of workspace the forward and the backward take.
size_t convlstm_seq_workspace_bytes(const kernels::ConvLstmDesc& d);

// Runs the layer from x; h0, c0 (N, U) may be null (zeros); workspace of
// convlstm_seq_workspace_bytes(d) bytes.
cudaError_t convlstm_v3_fused_forward_f32(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                                          const float* x, const float* w_x, const float* w_h,
                                          const float* bias, const kernels::ConvLstmPeepholes& peep,
                                          const float* h0, const float* c0,
                                          const kernels::ConvLstmBuffers& out, void* workspace);

// Back-propagates through the layer from its saved x, weights and forward buffers; dy (T, N, U,
// may be null) is the gradient of the output; workspace of convlstm_seq_workspace_bytes(d).
cudaError_t convlstm_v3_fused_backward_f32(const kernels::ConvLstmDesc& d, const int64_t* lengths,
                                           const float* x, const float* w_x, const float* w_h,
                                           const kernels::ConvLstmPeepholes& peep,
                                           const kernels::ConvLstmBuffers& fwd, const float* dy,
                                           const kernels::ConvLstmGrads& g, void* workspace);

}  // namespace signet::cuda
