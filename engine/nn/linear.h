// nn::Linear: y = x W^T + b, parameters `weight` (out, in) and `bias` (out) as torch.nn.Linear.
#pragma once
#include "engine/nn/module.h"

namespace signet::nn {

class Linear : public Module {
 public:
  // Initialised as PyTorch does: weight and bias uniform in +-1/sqrt(in_features).
  Linear(int64_t in_features, int64_t out_features, bool bias = true, DType dtype = DType::f32);
  // Applies the layer to x (..., in_features).
  Tensor forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  Tensor weight_, bias_;
};

}  // namespace signet::nn
