// LSTM over a sequence (one layer, one direction) and one LSTM cell step, PyTorch's math and
// weight layout: gates (i, f, g, o) stacked along the rows of W_ih (4H, I) and W_hh (4H, H).
//
// lstm_layer runs as one multi-output autograd node: the input projection of every step is one
// GEMM; each step does one recurrent GEMM and one fused cell kernel; backward runs the fused
// cell gradient per step and the weight gradients as one GEMM each over the whole sequence.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace signet {

// The parameters of one layer in one direction; the biases may be undefined (bias=False).
struct LstmWeights {
  Tensor w_ih, w_hh, b_ih, b_hh;
};

// What lstm_layer returns: output (T, N, H), h_n and c_n (N, H).
struct LstmLayerResult {
  Tensor output, h_n, c_n;
};

// Runs one LSTM layer over time-major x (T, N, I). h0 and c0 (N, H) default to zeros when
// undefined. lengths (i64 (N), values in [0, T]) makes the batch variable-length: output is 0
// past each sample's length, h_n/c_n are taken at its last valid step and padding gets no
// gradient. reverse runs from each sample's last valid step back to step 0.
LstmLayerResult lstm_layer(const Tensor& x, const LstmWeights& w, const Tensor& h0 = Tensor(),
                           const Tensor& c0 = Tensor(), const Tensor& lengths = Tensor(),
                           bool reverse = false);

// What lstm_cell_step returns: y (h on active rows, 0 on inactive ones), h and c (N, U).
struct LstmStepResult {
  Tensor y, h, c;
};

// One fused cell step on gate pre-activations computed elsewhere (nn::ConvLSTM's convolutions,
// a unit per (channel, position)), as one autograd node: gates (N, 4U) in (i, f, g, o) order,
// c_prev and h_prev (N, U). With lengths (one per sample, else empty), row b is inactive when
// step >= lengths[b]: it keeps (h_prev, c_prev), its y is 0 and its gates get no gradient.
// Without lengths y is h. CPU only.
LstmStepResult lstm_cell_step(const Tensor& gates, const Tensor& c_prev, const Tensor& h_prev,
                              const std::vector<int64_t>& lengths = {}, int64_t step = 0);

// lstm_cell_step on the pre-activations gates_x + gates_h, added inside the fused cell kernel (no
// separate add pass); both get the gradient of the sum. CPU only.
LstmStepResult lstm_cell_step_sum(const Tensor& gates_x, const Tensor& gates_h,
                                  const Tensor& c_prev, const Tensor& h_prev,
                                  const std::vector<int64_t>& lengths = {}, int64_t step = 0);

// One step of torch.nn.LSTMCell: x (N, I), h and c (N, H, zeros when undefined) -> (h', c').
std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const LstmWeights& w,
                                    const Tensor& h = Tensor(), const Tensor& c = Tensor());

}  // namespace signet
