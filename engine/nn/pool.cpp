#include "engine/nn/pool.h"

#include "engine/ops/pool.h"

namespace signet::nn {

Tensor MaxPoolNd::forward(const Tensor& x) const {
  return dims_ == 2 ? max_pool2d(x, kernel_, stride_, padding_, dilation_, ceil_mode_)
                    : max_pool3d(x, kernel_, stride_, padding_, dilation_, ceil_mode_);
}

Tensor AvgPoolNd::forward(const Tensor& x) const {
  return dims_ == 2 ? avg_pool2d(x, kernel_, stride_, padding_, ceil_mode_, count_include_pad_)
                    : avg_pool3d(x, kernel_, stride_, padding_, ceil_mode_, count_include_pad_);
}

Tensor AdaptiveAvgPoolNd::forward(const Tensor& x) const {
  return dims_ == 2 ? adaptive_avg_pool2d(x, out_) : adaptive_avg_pool3d(x, out_);
}

}  // namespace signet::nn
