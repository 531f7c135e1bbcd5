#include "models/cnn_lstm.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace signet::models {
namespace {

// Checks that x holds clips (N, T, C, H, W) of frames the two poolings can halve twice.
void check_clips(const Tensor& x) {
  SIGNET_CHECK(x.dim() == 5, "cnn_lstm: expects clips (N, T, C, H, W), got ", shape_str(x.shape()));
  SIGNET_CHECK(x.size(3) >= 4 && x.size(4) >= 4, "cnn_lstm: frames of ", x.size(3), "x", x.size(4),
               " in ", shape_str(x.shape()), " are too small (at least 4x4)");
}

}  // namespace

CnnLstm::CnnLstm(const ModelConfig& c) {
  conv1_ =
      register_module("conv1", std::make_shared<nn::Conv2d>(c.channels, 16, Shape{3}, Shape{1},
                                                            Shape{1}, Shape{1}, 1, true, c.dtype));
  conv2_ =
      register_module("conv2", std::make_shared<nn::Conv2d>(16, 32, Shape{3}, Shape{1}, Shape{1},
                                                            Shape{1}, 1, true, c.dtype));
  pool1_ = register_module("pool1", std::make_shared<nn::MaxPool2d>(Shape{2}));
  pool2_ = register_module("pool2", std::make_shared<nn::MaxPool2d>(Shape{2}));
  nn::LstmOptions o;
  o.input_size = 32;
  o.hidden_size = c.hidden;
  o.num_layers = c.layers;
  o.batch_first = true;
  o.input_dropout = c.dropout;
  o.dtype = c.dtype;
  lstm_ = register_module("lstm", std::make_shared<nn::LSTM>(o));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(c.hidden, c.classes, true, c.dtype));
}

Tensor CnnLstm::forward(const Tensor& x, RngStream& rng) {
  return forward_chunk(x, {}, rng).first;
}

Tensor CnnLstm::forward_with_lengths(const Tensor& x, const Tensor& lengths, RngStream& rng) {
  if (!lengths.defined()) return forward(x, rng);
  check_clips(x);
  check_lengths(lengths, x);
  // h_n of the top layer is each clip's hidden state at its last valid frame.
  nn::LstmState s = lstm_->forward(frame_features(x), {}, lengths, &rng).second;
  return fc_->forward(s.h.narrow(0, s.h.size(0) - 1, 1).squeeze(0));
}

Tensor CnnLstm::frame_features(const Tensor& x) {
  check_clips(x);
  int64_t N = x.size(0), T = x.size(1);
  Tensor frames = x.reshape({N * T, x.size(2), x.size(3), x.size(4)});
  Tensor y = pool1_->forward(relu(conv1_->forward(frames)));
  y = pool2_->forward(relu(conv2_->forward(y)));
  return mean(y, {2, 3}).reshape({N, T, -1});
}

std::pair<Tensor, nn::LstmState> CnnLstm::forward_chunk(const Tensor& x, const nn::LstmState& state,
                                                        RngStream& rng) {
  Tensor features = frame_features(x);
  std::pair<Tensor, nn::LstmState> r = lstm_->forward(features, state, Tensor(), &rng);
  return {fc_->forward(r.first.narrow(1, x.size(1) - 1, 1).squeeze(1)), r.second};
}

}  // namespace signet::models
