// nn::Dropout, Dropout2d and Dropout3d as torch.nn's: inverted dropout in training mode,
// identity in evaluation mode (Module::train(false)). The mask comes from the stream passed
// to forward (the run's dropout_stream(seed, step)); see engine/ops/dropout.h.
#pragma once
#include "engine/nn/module.h"
#include "engine/random.h"

namespace signet::nn {

// Drops each element with probability p.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  // Applies dropout to x in training mode (taking counters from stream); x otherwise.
  Tensor forward(const Tensor& x, RngStream& stream) const;
  double p() const { return p_; }

 private:
  double p_;
};

// Drops whole channels of (N, C, H, W) or (C, H, W) inputs with probability p.
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5);
  // Applies channel dropout to x in training mode (taking counters from stream); x otherwise.
  Tensor forward(const Tensor& x, RngStream& stream) const;
  double p() const { return p_; }

 private:
  double p_;
};

// Drops whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability p.
class Dropout3d : public Module {
 public:
  explicit Dropout3d(double p = 0.5);
  // Applies channel dropout to x in training mode (taking counters from stream); x otherwise.
  Tensor forward(const Tensor& x, RngStream& stream) const;
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace signet::nn
