#include "engine/nn/dropout.h"

#include "engine/ops/dropout.h"

namespace signet::nn {

// Refuses a probability outside [0, 1] when the module is built.
static double checked_p(const char* name, double p) {
  SIGNET_CHECK(p >= 0.0 && p <= 1.0, name, ": p must be in [0, 1], got ", p);
  return p;
}

Dropout::Dropout(double p) : p_(checked_p("Dropout", p)) {}

Tensor Dropout::forward(const Tensor& x, RngStream& stream) const {
  return dropout(x, p_, training(), stream);
}

Dropout2d::Dropout2d(double p) : p_(checked_p("Dropout2d", p)) {}

Tensor Dropout2d::forward(const Tensor& x, RngStream& stream) const {
  return dropout2d(x, p_, training(), stream);
}

Dropout3d::Dropout3d(double p) : p_(checked_p("Dropout3d", p)) {}

Tensor Dropout3d::forward(const Tensor& x, RngStream& stream) const {
  return dropout3d(x, p_, training(), stream);
}

}  // namespace signet::nn
