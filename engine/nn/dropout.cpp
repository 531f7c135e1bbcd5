#include "engine/nn/dropout.h"

#include "engine/ops/dropout.h"

namespace signet::nn {

DropoutNd::DropoutNd(const char* name, int channel_dims, double p)
    : channel_dims_(channel_dims), p_(p) {
  SIGNET_CHECK(p >= 0.0 && p <= 1.0, name, ": p must be in [0, 1], got ", p);
}

Tensor DropoutNd::forward(const Tensor& x, RngStream& stream) const {
  if (channel_dims_ == 2) return dropout2d(x, p_, training(), stream);
  if (channel_dims_ == 3) return dropout3d(x, p_, training(), stream);
  return dropout(x, p_, training(), stream);
}

}  // namespace signet::nn
