#include "models/convlstm.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/ops/reduce.h"

namespace signet::models {

ConvLstmClassifier::ConvLstmClassifier(const ModelConfig& c) {
  stem_ =
      register_module("stem", std::make_shared<nn::Conv2d>(c.channels, 16, Shape{3}, Shape{1},
                                                           Shape{1}, Shape{1}, 1, true, c.dtype));
  pool_ = register_module("pool", std::make_shared<nn::MaxPool2d>(Shape{2}));
  nn::ConvLstmOptions o;
  o.input_channels = 16;
  o.hidden_channels = c.hidden;
  o.kernel_size = 3;
  o.num_layers = c.layers;
  o.batch_first = true;
  o.dtype = c.dtype;
  convlstm_ = register_module("convlstm", std::make_shared<nn::ConvLSTM>(o));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(c.hidden, c.classes, true, c.dtype));
}

Tensor ConvLstmClassifier::forward(const Tensor& x, RngStream&) {
  return run(x, {}).first;
}

std::pair<Tensor, nn::LstmState> ConvLstmClassifier::forward_chunk(const Tensor& x,
                                                                   const nn::LstmState& state,
                                                                   RngStream&) {
  nn::ConvLstmState s;
  for (int64_t l = 0; state.h.defined() && l < state.h.size(0); ++l) {
    s.h.push_back(state.h.narrow(0, l, 1).squeeze(0));
    s.c.push_back(state.c.narrow(0, l, 1).squeeze(0));
  }
  std::pair<Tensor, nn::ConvLstmState> r = run(x, s);
  return {r.first, {stack(r.second.h, 0), stack(r.second.c, 0)}};
}

std::pair<Tensor, nn::ConvLstmState> ConvLstmClassifier::run(const Tensor& x,
                                                             const nn::ConvLstmState& state) {
  SIGNET_CHECK(x.dim() == 5, "convlstm: expects clips (N, T, C, H, W), got ", shape_str(x.shape()));
  int64_t N = x.size(0), T = x.size(1);
  Tensor frames = x.reshape({N * T, x.size(2), x.size(3), x.size(4)});
  Tensor y = pool_->forward(relu(stem_->forward(frames - 0.5)));
  y = y.reshape({N, T, y.size(1), y.size(2), y.size(3)});
  nn::ConvLstmState after = convlstm_->forward(y, state).second;
  return {fc_->forward(max(after.h.back(), {2, 3})), after};
}

}  // namespace signet::models
