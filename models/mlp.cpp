#include "models/mlp.h"

#include "engine/ops/elementwise.h"

namespace signet::models {

Mlp::Mlp(const ModelConfig& c) {
  int64_t in = c.features;
  for (int64_t i = 0; i <= c.layers; ++i) {
    int64_t out = i == c.layers ? c.classes : c.hidden;
    layers_.push_back(register_module("layers." + std::to_string(i),
                                      std::make_shared<nn::Linear>(in, out, true, c.dtype)));
    in = out;
  }
}

void Mlp::reset_head(int64_t classes) {
  layers_.back() =
      new_head("layers." + std::to_string(layers_.size() - 1), *layers_.back(), classes);
}

Tensor Mlp::forward(const Tensor& x, RngStream&) {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    if (i + 1 < layers_.size()) h = relu(h);
  }
  return h;
}

}  // namespace signet::models
