// Truncated backpropagation through time: a sequence is run in chunks of k steps; the state is
// carried from chunk to chunk but detached, so gradients reach at most k steps back. A callback
// sees each chunk's output and does the loss, backward and (per chunk or on the last chunk
// only) the optimiser step.
#pragma once
#include <functional>
#include <utility>

#include "engine/nn/lstm.h"

namespace signet::nn {

// One chunk, as handed to the callback.
struct TbpttChunk {
  int64_t index = 0;  // chunk number from 0
  int64_t start = 0;  // first time step of the chunk
  int64_t steps = 0;  // time steps in the chunk (k, fewer for the last one)
  bool last = false;  // the final chunk of the sequence
  Tensor input;       // the chunk of x, laid out as x
  Tensor lengths;     // valid steps of each sample within the chunk (undefined without lengths)
  Tensor output;      // the module's output for the chunk (attached to the graph)
  LstmState state;    // the state after the chunk (attached to the graph)
};

// A recurrent forward: (input chunk, state, chunk lengths) -> (output, state).
using RecurrentForward =
    std::function<std::pair<Tensor, LstmState>(const Tensor&, const LstmState&, const Tensor&)>;
// Called once per chunk, in order.
using TbpttCallback = std::function<void(const TbpttChunk&)>;

// Runs forward over x (time along dim 1 when batch_first, else dim 0) in chunks of k steps from
// state, detaching the state between chunks; lengths (i64 (N)) are split per chunk. Returns the
// detached final state.
LstmState truncated_bptt(const RecurrentForward& forward, const Tensor& x, int64_t k,
                         const TbpttCallback& on_chunk, const LstmState& state = {},
                         const Tensor& lengths = Tensor(), bool batch_first = false);

// The same for an nn::LSTM (its batch_first decides the time dim).
LstmState truncated_bptt(LSTM& lstm, const Tensor& x, int64_t k, const TbpttCallback& on_chunk,
                         const LstmState& state = {}, const Tensor& lengths = Tensor());

}  // namespace signet::nn
