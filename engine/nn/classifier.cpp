#include "engine/nn/classifier.h"

#include <vector>

namespace signet::nn {

// Runs forward(x) when every row is whole; a model that reads whole inputs cannot skip padding.
Tensor Classifier::forward_with_lengths(const Tensor& x, const Tensor& lengths, RngStream& rng) {
  if (lengths.defined()) {
    SIGNET_CHECK(
        x.dim() >= 2 && lengths.dtype() == DType::i64 && lengths.shape() == Shape{x.size(0)},
        "forward: lengths must be i64 (N) beside sequences (N, T, ...); got lengths ",
        dtype_name(lengths.dtype()), " ", shape_str(lengths.shape()), " for input ",
        shape_str(x.shape()));
    for (int64_t n : lengths.to(Device::cpu()).to_vector<int64_t>())
      SIGNET_CHECK(n == x.size(1), "forward: this model reads whole inputs and cannot skip ",
                   "padding, but a row of ", shape_str(x.shape()), " has length ", n,
                   " (models that take lengths: cnn_lstm, feature_lstm)");
  }
  return forward(x, rng);
}

}  // namespace signet::nn
