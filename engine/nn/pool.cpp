#include "engine/nn/pool.h"

#include "engine/nn/trace.h"
#include "engine/ops/pool.h"

namespace signet::nn {

Tensor MaxPoolNd::forward(const Tensor& x) const {
  Tensor y = dims_ == 2 ? max_pool2d(x, kernel_, stride_, padding_, dilation_, ceil_mode_)
                        : max_pool3d(x, kernel_, stride_, padding_, dilation_, ceil_mode_);
  trace_output(this, dims_ == 2 ? "MaxPool2d" : "MaxPool3d", y);
  return y;
}

Tensor AvgPoolNd::forward(const Tensor& x) const {
  Tensor y = dims_ == 2 ? avg_pool2d(x, kernel_, stride_, padding_, ceil_mode_, count_include_pad_)
                        : avg_pool3d(x, kernel_, stride_, padding_, ceil_mode_, count_include_pad_);
  trace_output(this, dims_ == 2 ? "AvgPool2d" : "AvgPool3d", y);
  return y;
}

Tensor AdaptiveAvgPoolNd::forward(const Tensor& x) const {
  Tensor y = dims_ == 2 ? adaptive_avg_pool2d(x, out_) : adaptive_avg_pool3d(x, out_);
  trace_output(this, dims_ == 2 ? "AdaptiveAvgPool2d" : "AdaptiveAvgPool3d", y);
  return y;
}

}  // namespace signet::nn
