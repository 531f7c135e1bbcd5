// mlp: a ReLU multi-layer perceptron on flat features (the foundation demo's model).
// torch equivalent: nn.Sequential(Linear, ReLU, ..., Linear); parameter names
// "layers.{i}.weight", "layers.{i}.bias".
#pragma once
#include <memory>
#include <vector>

#include "engine/nn/linear.h"
#include "models/model.h"

namespace signet::models {

class Mlp : public Model {
 public:
  // features -> hidden (x layers, ReLU) -> classes.
  explicit Mlp(const ModelConfig& c);
  Tensor forward(const Tensor& x, RngStream& rng) override;
  const char* name() const override { return "mlp"; }
  void reset_head(int64_t classes) override;

 private:
  std::vector<std::shared_ptr<nn::Linear>> layers_;
};

}  // namespace signet::models
