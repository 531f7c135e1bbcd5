// nn::LayerNorm: parameters around ops/norm.h's layer_norm.
#include "engine/nn/layer_norm.h"

#include "engine/nn/trace.h"
#include "engine/ops/norm.h"

namespace signet::nn {

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, DType dtype)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  SIGNET_CHECK(!normalized_shape_.empty() && shape_numel(normalized_shape_) > 0,
               "LayerNorm: normalized_shape must be non-empty with positive sizes, got ",
               shape_str(normalized_shape_));
  SIGNET_CHECK(eps > 0.0, "LayerNorm: eps must be > 0, got ", eps);
  if (elementwise_affine) {
    weight_ = register_parameter("weight", ones(normalized_shape_, dtype));
    bias_ = register_parameter("bias", zeros(normalized_shape_, dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  Tensor y = layer_norm(x, normalized_shape_, weight_, bias_, eps_);
  trace_output(this, "LayerNorm", y);
  return y;
}

}  // namespace signet::nn
