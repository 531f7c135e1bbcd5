// Classifier: a Module that maps a batch to logits (N, classes); what the trainer trains.
#pragma once
#include "engine/nn/module.h"
#include "engine/random.h"

namespace signet::nn {

class Classifier : public Module {
 public:
  // Logits (N, classes) for a batch; dropout masks (training only) come from rng.
  virtual Tensor forward(const Tensor& x, RngStream& rng) = 0;
};

}  // namespace signet::nn
