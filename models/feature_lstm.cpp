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
  SIGNET_CHECK(x.dim() == 3, "feature_lstm: expects (N, T, features), got ", shape_str(x.shape()));
  Tensor out = lstm_->forward(x, {}, Tensor(), &rng).first;
  int64_t steps = out.size(1);
  return fc_->forward(out.narrow(1, steps - 1, 1).squeeze(1));
}

}  // namespace signet::models
