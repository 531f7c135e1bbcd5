// nn::LSTM and nn::LSTMCell with torch.nn.LSTM / torch.nn.LSTMCell semantics and parameter names
// (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, with _reverse for the backward
// direction; LSTMCell: weight_ih, weight_hh, bias_ih, bias_hh). Gate order (i, f, g, o).
#pragma once
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/ops/lstm.h"
#include "engine/random.h"

namespace signet::nn {

// Recurrent state: (num_layers * directions, N, H) for LSTM, (N, H) for LSTMCell.
struct LstmState {
  Tensor h, c;
};

// Options of nn::LSTM, named after torch.nn.LSTM's arguments.
struct LstmOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // input and output (N, T, features) instead of (T, N, features)
  // PyTorch's dropout: on each layer's output except the last, a fresh mask per element.
  double dropout = 0;
  // Keras LSTM(dropout=p): on each layer's input, one mask per sequence shared by every step.
  double input_dropout = 0;
  bool bidirectional = false;
  DType dtype = DType::f32;
};

// The functional form of nn::LSTM: weights holds layer l, direction d at l * directions + d.
// Dropout applies only when training, with masks drawn from rng.
std::pair<Tensor, LstmState> lstm(const LstmOptions& opt, const std::vector<LstmWeights>& weights,
                                  const Tensor& x, const LstmState& state, const Tensor& lengths,
                                  bool training, RngStream& rng);

class LSTM : public Module {
 public:
  // Parameters initialised as PyTorch does: uniform in +-1/sqrt(hidden_size).
  explicit LSTM(const LstmOptions& opt);
  // x (T, N, input_size), or (N, T, input_size) with batch_first; state.h and state.c
  // (num_layers * directions, N, H) default to zeros; lengths (i64 (N)) for variable-length
  // batches. Dropout masks (training only) come from rng, or from the module's own stream when
  // null. Returns (output (T, N, directions * H) or batch-first, (h_n, c_n)).
  std::pair<Tensor, LstmState> forward(const Tensor& x, const LstmState& state = {},
                                       const Tensor& lengths = Tensor(), RngStream* rng = nullptr);
  // The parameters of layer l in direction d (0 forward, 1 reverse).
  const LstmWeights& weights(int64_t layer, int64_t direction = 0) const;
  const LstmOptions& options() const { return opt_; }
  // Sets the module's own dropout stream (e.g. dropout_stream(seed, step)).
  void set_dropout_stream(const RngStream& rng) { rng_ = rng; }

 private:
  LstmOptions opt_;
  std::vector<LstmWeights> weights_;
  RngStream rng_ = dropout_stream(0, 0);
};

class LSTMCell : public Module {
 public:
  // Parameters initialised as PyTorch does: uniform in +-1/sqrt(hidden_size).
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true, DType dtype = DType::f32);
  // One step: x (N, input_size), state (N, H) each (zeros when undefined) -> (h', c').
  LstmState forward(const Tensor& x, const LstmState& state = {}) const;
  const LstmWeights& weights() const { return weights_; }

 private:
  LstmWeights weights_;
};

}  // namespace signet::nn
