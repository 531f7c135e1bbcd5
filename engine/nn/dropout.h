// nn::Dropout, Dropout2d and Dropout3d as torch.nn's: inverted dropout in training mode,
// identity in evaluation mode (Module::train(false)). The mask comes from the stream passed
// to forward (the run's dropout_stream(seed, step)); see engine/ops/dropout.h.
#pragma once
#include "engine/nn/module.h"
#include "engine/random.h"

namespace signet::nn {

// The shared body: drops elements (channel_dims 0) or whole channels of 2-D/3-D maps.
class DropoutNd : public Module {
 public:
  // Applies dropout to x in training mode (taking counters from stream); x otherwise.
  Tensor forward(const Tensor& x, RngStream& stream) const;
  double p() const { return p_; }

 protected:
  // Checks p in [0, 1]; name is used in the message.
  DropoutNd(const char* name, int channel_dims, double p);

 private:
  int channel_dims_;
  double p_;
};

// Drops each element with probability p.
class Dropout : public DropoutNd {
 public:
  explicit Dropout(double p = 0.5) : DropoutNd("Dropout", 0, p) {}
};

// Drops whole channels of (N, C, H, W) or (C, H, W) inputs with probability p.
class Dropout2d : public DropoutNd {
 public:
  explicit Dropout2d(double p = 0.5) : DropoutNd("Dropout2d", 2, p) {}
};

// Drops whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability p.
class Dropout3d : public DropoutNd {
 public:
  explicit Dropout3d(double p = 0.5) : DropoutNd("Dropout3d", 3, p) {}
};

}  // namespace signet::nn
