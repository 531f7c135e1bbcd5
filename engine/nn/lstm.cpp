#include "engine/nn/lstm.h"

#include <cmath>
#include <string>

#include "engine/nn/trace.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"

namespace signet::nn {
namespace {

// A parameter of shape uniform in [-bound, bound) from the initialisation stream.
Tensor uniform_init(const Shape& shape, double bound, DType dtype) {
  return rand(shape, dtype) * (2 * bound) - bound;
}

// Fresh LSTM weights for one layer and direction, PyTorch's init; biases only when bias.
LstmWeights init_weights(int64_t in, int64_t hidden, bool bias, DType dtype) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
  LstmWeights w;
  w.w_ih = uniform_init({4 * hidden, in}, bound, dtype);
  w.w_hh = uniform_init({4 * hidden, hidden}, bound, dtype);
  if (bias) {
    w.b_ih = uniform_init({4 * hidden}, bound, dtype);
    w.b_hh = uniform_init({4 * hidden}, bound, dtype);
  }
  return w;
}

// An inverted-dropout mask on x's device (0 or 1 / (1 - p)) from the dropout op's Philox rule,
// so the cpu and cuda draw the same mask from the same stream.
Tensor dropout_mask(const Shape& shape, double p, const Tensor& x, RngStream& rng) {
  return dropout(ones(shape, x.dtype(), x.device()), p, true, rng);
}

// Refuses a dropout probability outside [0, 1], naming the option.
void check_probability(const char* name, double p) {
  SIGNET_CHECK(p >= 0 && p <= 1, "LSTM: ", name, " must be in [0, 1], got ", p);
}

// Refuses a state tensor that is not (layers * directions, N, H).
void check_state(const char* name, const Tensor& t, const Shape& want) {
  SIGNET_CHECK(t.shape() == want, "LSTM: ", name, " has shape ", shape_str(t.shape()),
               ", expected ", shape_str(want));
}

}  // namespace

std::pair<Tensor, LstmState> lstm(const LstmOptions& opt, const std::vector<LstmWeights>& weights,
                                  const Tensor& x, const LstmState& state, const Tensor& lengths,
                                  bool training, RngStream& rng) {
  const int64_t dirs = opt.bidirectional ? 2 : 1, H = opt.hidden_size;
  check_defined("LSTM", x);
  SIGNET_CHECK(x.dim() == 3 && x.size(2) == opt.input_size, "LSTM: input must be ",
               opt.batch_first ? "(N, T, " : "(T, N, ", opt.input_size, "), got ",
               shape_str(x.shape()));
  SIGNET_CHECK(static_cast<int64_t>(weights.size()) == opt.num_layers * dirs,
               "LSTM: ", weights.size(), " weight sets for ", opt.num_layers, " layers and ", dirs,
               " directions");
  Tensor seq = opt.batch_first ? x.transpose(0, 1) : x;
  const int64_t N = seq.size(1);
  const Shape state_shape{opt.num_layers * dirs, N, H};
  if (state.h.defined()) check_state("h0", state.h, state_shape);
  if (state.c.defined()) check_state("c0", state.c, state_shape);
  std::vector<Tensor> hs, cs;
  for (int64_t l = 0; l < opt.num_layers; ++l) {
    if (training && opt.input_dropout > 0)
      seq = mul(seq, dropout_mask({1, N, seq.size(2)}, opt.input_dropout, seq, rng));
    std::vector<Tensor> outs;
    for (int64_t d = 0; d < dirs; ++d) {
      const int64_t k = l * dirs + d;
      Tensor h0 = state.h.defined() ? state.h.narrow(0, k, 1).squeeze(0) : Tensor();
      Tensor c0 = state.c.defined() ? state.c.narrow(0, k, 1).squeeze(0) : Tensor();
      LstmLayerResult r = lstm_layer(seq, weights[k], h0, c0, lengths, d == 1);
      outs.push_back(r.output);
      hs.push_back(r.h_n);
      cs.push_back(r.c_n);
    }
    seq = dirs == 1 ? outs[0] : cat(outs, 2);
    if (training && opt.dropout > 0 && l + 1 < opt.num_layers)
      seq = dropout(seq, opt.dropout, true, rng);
  }
  Tensor out = opt.batch_first ? seq.transpose(0, 1) : seq;
  return {out, {stack(hs, 0), stack(cs, 0)}};
}

LSTM::LSTM(const LstmOptions& opt) : opt_(opt) {
  SIGNET_CHECK(opt.input_size > 0 && opt.hidden_size > 0 && opt.num_layers > 0,
               "LSTM: invalid sizes input_size=", opt.input_size, " hidden_size=", opt.hidden_size,
               " num_layers=", opt.num_layers);
  check_probability("dropout", opt.dropout);
  check_probability("input_dropout", opt.input_dropout);
  const int64_t dirs = opt.bidirectional ? 2 : 1;
  for (int64_t l = 0; l < opt.num_layers; ++l)
    for (int64_t d = 0; d < dirs; ++d) {
      const int64_t in = l == 0 ? opt.input_size : dirs * opt.hidden_size;
      LstmWeights w = init_weights(in, opt.hidden_size, opt.bias, opt.dtype);
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      w.w_ih = register_parameter("weight_ih" + suffix, w.w_ih);
      w.w_hh = register_parameter("weight_hh" + suffix, w.w_hh);
      if (opt.bias) {
        w.b_ih = register_parameter("bias_ih" + suffix, w.b_ih);
        w.b_hh = register_parameter("bias_hh" + suffix, w.b_hh);
      }
      weights_.push_back(w);
    }
}

std::pair<Tensor, LstmState> LSTM::forward(const Tensor& x, const LstmState& state,
                                           const Tensor& lengths, RngStream* rng) {
  auto out = lstm(opt_, weights_, x, state, lengths, training(), rng ? *rng : rng_);
  trace_output(this, "LSTM", out.first);
  return out;
}

const LstmWeights& LSTM::weights(int64_t layer, int64_t direction) const {
  const int64_t dirs = opt_.bidirectional ? 2 : 1;
  SIGNET_CHECK(layer >= 0 && layer < opt_.num_layers && direction >= 0 && direction < dirs,
               "LSTM: no weights for layer ", layer, " direction ", direction, " (",
               opt_.num_layers, " layers, ", dirs, " directions)");
  return weights_[layer * dirs + direction];
}

LSTMCell::LSTMCell(int64_t input_size, int64_t hidden_size, bool bias, DType dtype) {
  SIGNET_CHECK(input_size > 0 && hidden_size > 0, "LSTMCell: invalid sizes input_size=", input_size,
               " hidden_size=", hidden_size);
  LstmWeights w = init_weights(input_size, hidden_size, bias, dtype);
  weights_.w_ih = register_parameter("weight_ih", w.w_ih);
  weights_.w_hh = register_parameter("weight_hh", w.w_hh);
  if (bias) {
    weights_.b_ih = register_parameter("bias_ih", w.b_ih);
    weights_.b_hh = register_parameter("bias_hh", w.b_hh);
  }
}

LstmState LSTMCell::forward(const Tensor& x, const LstmState& state) const {
  std::pair<Tensor, Tensor> hc = lstm_cell(x, weights_, state.h, state.c);
  return {hc.first, hc.second};
}

}  // namespace signet::nn
