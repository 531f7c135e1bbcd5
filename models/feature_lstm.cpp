#include "models/feature_lstm.h"

namespace signet::models {

FeatureLstm::FeatureLstm(const ModelConfig& c) {
  nn::LstmOptions o;
  o.input_size = c.features;
  o.hidden_size = c.hidden;
  o.num_layers = c.layers;
  o.batch_first = true;
  o.input_dropout = c.dropout;
  o.dtype = c.dtype;
  lstm_ = register_module("lstm", std::make_shared<nn::LSTM>(o));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(c.hidden, c.classes, true, c.dtype));
}

Tensor FeatureLstm::forward(const Tensor& x, RngStream& rng) {
  return forward_chunk(x, {}, rng).first;
}

Tensor FeatureLstm::forward_with_lengths(const Tensor& x, const Tensor& lengths, RngStream& rng) {
  if (!lengths.defined() || x.dim() != 3) return Model::forward_with_lengths(x, lengths, rng);
  check_lengths(lengths, x);
  // h_n of the top layer is each sequence's hidden state at its last valid step.
  nn::LstmState s = lstm_->forward(x, {}, lengths, &rng).second;
  return fc_->forward(s.h.narrow(0, s.h.size(0) - 1, 1).squeeze(0));
}

Tensor FeatureLstm::as_sequence(const Tensor& x) const {
  SIGNET_CHECK(x.dim() == 3 || x.dim() == 4,
               "feature_lstm: expects (N, T, features) or images (N, C, H, W), got ",
               shape_str(x.shape()));
  if (x.dim() == 3) return x;
  return x.permute({0, 2, 1, 3}).contiguous().reshape({x.size(0), x.size(2), -1});
}

std::pair<Tensor, nn::LstmState> FeatureLstm::forward_chunk(const Tensor& x,
                                                            const nn::LstmState& state,
                                                            RngStream& rng) {
  std::pair<Tensor, nn::LstmState> r = lstm_->forward(as_sequence(x), state, Tensor(), &rng);
  int64_t steps = r.first.size(1);
  return {fc_->forward(r.first.narrow(1, steps - 1, 1).squeeze(1)), r.second};
}

}  // namespace signet::models
