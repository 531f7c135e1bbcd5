#include "engine/nn/conv.h"

#include <cmath>

#include "engine/nn/trace.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"

namespace signet::nn {

ConvNd::ConvNd(int dims, int64_t in_channels, int64_t out_channels, const Shape& kernel_size,
               const Shape& stride, const Shape& padding, const Shape& dilation, int64_t groups,
               bool bias, DType dtype)
    : dims_(dims), stride_(stride), padding_(padding), dilation_(dilation), groups_(groups) {
  const char* name = dims == 2 ? "Conv2d" : "Conv3d";
  SIGNET_CHECK(in_channels > 0 && out_channels > 0 && groups > 0 && in_channels % groups == 0 &&
                   out_channels % groups == 0,
               name, ": invalid sizes in_channels=", in_channels, " out_channels=", out_channels,
               " groups=", groups);
  SIGNET_CHECK(kernel_size.size() == 1 || static_cast<int>(kernel_size.size()) == dims, name,
               ": kernel_size needs 1 or ", dims, " values, got ", shape_str(kernel_size));
  Shape shape{out_channels, in_channels / groups};
  int64_t fan_in = in_channels / groups;
  for (int i = 0; i < dims; ++i) {
    const int64_t k = kernel_size.size() == 1 ? kernel_size[0] : kernel_size[i];
    SIGNET_CHECK(k > 0, name, ": kernel_size ", shape_str(kernel_size), " must be positive");
    shape.push_back(k);
    fan_in *= k;
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  weight_ = register_parameter("weight", rand(shape, dtype) * (2 * bound) - bound);
  if (bias) bias_ = register_parameter("bias", rand({out_channels}, dtype) * (2 * bound) - bound);
}

Tensor ConvNd::forward(const Tensor& x) const {
  Tensor y = dims_ == 2 ? conv2d(x, weight_, bias_, stride_, padding_, dilation_, groups_)
                        : conv3d(x, weight_, bias_, stride_, padding_, dilation_, groups_);
  trace_output(this, dims_ == 2 ? "Conv2d" : "Conv3d", y);
  return y;
}

}  // namespace signet::nn
