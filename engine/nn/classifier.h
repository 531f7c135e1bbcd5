// Classifier: a Module that maps a batch to logits (N, classes); what the trainer trains.
#pragma once
#include "engine/nn/module.h"
#include "engine/random.h"

namespace signet::nn {

class Classifier : public Module {
 public:
  // Logits (N, classes) for a batch; dropout masks (training only) come from rng.
  virtual Tensor forward(const Tensor& x, RngStream& rng) = 0;
  // Logits for a batch of sequences (N, T, ...) of which row i has lengths[i] valid leading
  // steps (i64 (N); the rest is padding); undefined lengths: every step is valid. This default
  // is for models that read whole inputs: it refuses lengths shorter than T.
  virtual Tensor forward_with_lengths(const Tensor& x, const Tensor& lengths, RngStream& rng);
};

}  // namespace signet::nn
