// nn::LayerNorm as torch.nn.LayerNorm: normalises over the trailing normalized_shape dims;
// parameters `weight` (ones) and `bias` (zeros) of that shape when elementwise_affine.
#pragma once
#include "engine/nn/module.h"

namespace signet::nn {

class LayerNorm : public Module {
 public:
  // normalized_shape: the trailing dims of the inputs that share one mean and variance.
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                     DType dtype = DType::f32);
  // Applies the layer to x (..., normalized_shape).
  Tensor forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  Shape normalized_shape_;
  double eps_;
  Tensor weight_, bias_;
};

}  // namespace signet::nn
