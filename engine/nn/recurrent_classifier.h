// RecurrentClassifier: the interface of a classifier over sequences (N, T, ...) whose recurrent
// state can be carried from one chunk of time steps to the next; what truncated BPTT in the
// trainer needs (engine/nn/tbptt.h runs the chunks). A model implements it beside
// nn::Classifier, and its forward(x) is forward_chunk(x, {}) so both agree bit for bit.
#pragma once
#include <utility>

#include "engine/nn/lstm.h"
#include "engine/random.h"

namespace signet::nn {

class RecurrentClassifier {
 public:
  virtual ~RecurrentClassifier() = default;
  // Logits (N, classes) after the chunk x (N, t, ...) of a longer sequence, starting from state
  // (undefined parts: zeros), and the state after the chunk (attached to the graph). A model
  // whose state is not an LSTM's packs it into LstmState's h and c.
  virtual std::pair<Tensor, LstmState> forward_chunk(const Tensor& x, const LstmState& state,
                                                     RngStream& rng) = 0;
  // The batch as the sequence (N, T, ...) the chunks are cut from along dim 1 (a model that
  // reads other layouts, e.g. images as rows, converts them here).
  virtual Tensor as_sequence(const Tensor& x) const { return x; }
};

}  // namespace signet::nn
