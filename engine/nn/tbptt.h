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
  // The chunk's last new_steps steps are seen for the first time (all of them in the k form; in
  // the (k1, k2) form the first steps - new_steps repeat the previous chunk's last ones).
  int64_t new_steps = 0;
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

// The general form (Williams and Peng's BPTT(k2; k1), 1 <= k1 <= k2): every k1 steps, a chunk
// covering those k1 new steps and the k2 - k1 steps before them (fewer at the start) is run
// forward from the detached state at its first step, so a loss on its last step reaches exactly
// k2 steps back (k2 - k1 + its new steps for a shorter last chunk). The overlap is recomputed: the
// forward costs about k2 / k1 times the plain one. Each chunk runs as two forward calls split where
// the next chunk starts, the state there kept (detached) for it. k1 == k2 is the k form above.
// Returns the detached final state.
LstmState truncated_bptt(const RecurrentForward& forward, const Tensor& x, int64_t k1, int64_t k2,
                         const TbpttCallback& on_chunk, const LstmState& state = {},
                         const Tensor& lengths = Tensor(), bool batch_first = false);

// The general form for an nn::LSTM.
LstmState truncated_bptt(LSTM& lstm, const Tensor& x, int64_t k1, int64_t k2,
                         const TbpttCallback& on_chunk, const LstmState& state = {},
                         const Tensor& lengths = Tensor());

}  // namespace signet::nn
