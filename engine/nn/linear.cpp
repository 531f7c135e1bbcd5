#include "engine/nn/linear.h"

#include <cmath>

#include "engine/nn/trace.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"

namespace signet::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, DType dtype) {
  SIGNET_CHECK(in_features > 0 && out_features > 0,
               "Linear: invalid sizes in_features=", in_features, " out_features=", out_features);
  // kaiming_uniform_(a=sqrt(5)) on the weight reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight_ =
      register_parameter("weight", rand({out_features, in_features}, dtype) * (2 * bound) - bound);
  if (bias) bias_ = register_parameter("bias", rand({out_features}, dtype) * (2 * bound) - bound);
}

Tensor Linear::forward(const Tensor& x) const {
  Tensor y = linear(x, weight_, bias_);
  trace_output(this, "Linear", y);
  return y;
}

}  // namespace signet::nn
