// nn::ConvLSTM (Shi et al. 2015): an LSTM whose gates are convolutions over feature maps,
//   gates = conv(x, W_x) + conv(h, W_h) + b,  gate order (i, f, o, g),
//   i = sigmoid(g_i + w_ci * c), f = sigmoid(g_f + w_cf * c), g = tanh(g_g),
//   c' = f * c + i * g,  o = sigmoid(g_o + w_co * c'),  h' = o * tanh(c').
// Parameters follow the widely used PyTorch ConvLSTM (one convolution over cat(x, h)):
// "cell_list.{l}.conv.weight" (4 * hidden, in + hidden, k, k) and "cell_list.{l}.conv.bias";
// W_x and W_h are its two channel slices, so the x-path is one batched convolution over all time
// steps and each step convolves only h; without peepholes, one fused cell kernel per step adds
// the two paths' gates and does the gate math (lstm_cell_step_sum). Peepholes
// "cell_list.{l}.w_ci/w_cf/w_co" are per channel (hidden, 1, 1), or per position (hidden, H, W) as
// in the paper.
#pragma once
#include <vector>

#include "engine/nn/module.h"

namespace signet::nn {

struct ConvLstmOptions {
  int64_t input_channels = 0;
  int64_t hidden_channels = 0;
  int64_t kernel_size = 3;  // odd; 'same' padding
  int64_t num_layers = 1;
  bool batch_first = false;  // (N, T, C, H, W) instead of (T, N, C, H, W)
  bool peephole = false;
  Shape peephole_positions;  // {H, W}: per-position peepholes; empty: per channel
  DType dtype = DType::f32;
};

// The last hidden and cell maps of every layer, each (N, hidden, H, W).
struct ConvLstmState {
  std::vector<Tensor> h, c;
};

class ConvLSTM : public Module {
 public:
  // Parameters initialised as the convolution they form (U(+-1/sqrt(fan_in))); peepholes 0.
  explicit ConvLSTM(const ConvLstmOptions& opt);
  // x (T, N, C, H, W) (or batch-first) -> the last layer's h at every step (same layout as x,
  // hidden channels) and every layer's last (h, c). state defaults to zeros. lengths (i64 (N),
  // values in [0, T]) makes the batch variable-length: outputs past a sample's length are 0,
  // its last (h, c) are those of its last valid step and padding gets no gradient.
  std::pair<Tensor, ConvLstmState> forward(const Tensor& x, const ConvLstmState& state = {},
                                           const Tensor& lengths = Tensor()) const;
  const ConvLstmOptions& options() const { return opt_; }

 private:
  // One layer over a time-major sequence (T, N, C, H, W); returns its h sequence. lens (one per
  // sample, empty when all run T steps) freezes a sample's (h, c) and zeroes its output past
  // its length.
  Tensor layer_forward(int64_t l, const Tensor& x, Tensor& h, Tensor& c,
                       const std::vector<int64_t>& lens) const;

  ConvLstmOptions opt_;
  std::vector<Tensor> weight_, bias_, w_ci_, w_cf_, w_co_;
};

}  // namespace signet::nn
