// LSTM cell math for one hidden unit, shared by the reference, CPU and CUDA kernels, and the
// descriptor of one fused cell step.
//
// Gate order is PyTorch's (i, f, g, o). A row of gates holds 4H values: gate k of unit j at
// k * H + j. With pre-activations (ai, af, ag, ao):
//   i = sigmoid(ai), f = sigmoid(af), g = tanh(ag), o = sigmoid(ao)
//   c = f * c_prev + i * g,   h = o * tanh(c)
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/activations.h"
#include "kernels/common/hostdev.h"

namespace signet::kernels {

// One fused cell step over a batch: rows are samples, each with 4H gates and H state values.
// Row b is active when lengths is null or step < lengths[b]; an inactive row (padding past
// the sample's length) keeps its state and passes gradients through unchanged.
struct LstmCellDesc {
  int64_t batch = 0;   // rows N
  int64_t hidden = 0;  // H
  int64_t step = 0;    // time index of this step, compared with lengths
};

// The four activated gates of a unit from their pre-activations.
template <class T>
SIGNET_HD void lstm_gates(T ai, T af, T ag, T ao, T& i, T& f, T& g, T& o) {
  i = sigmoid(ai);
  f = sigmoid(af);
  g = std::tanh(ag);
  o = sigmoid(ao);
}

// New cell and hidden state of a unit from its activated gates and previous cell state.
template <class T>
SIGNET_HD void lstm_state(T i, T f, T g, T o, T c_prev, T& c, T& h) {
  c = f * c_prev + i * g;
  h = o * std::tanh(c);
}

// Gradients of a unit's pre-activations and previous cell state from those of h (dh) and c
// (dc, from the next step), given the activated gates, c_prev and c.
template <class T>
SIGNET_HD void lstm_unit_backward(T i, T f, T g, T o, T c_prev, T c, T dh, T dc, T& dai, T& daf,
                                  T& dag, T& dao, T& dc_prev) {
  const T tc = std::tanh(c);
  const T dct = dc + dh * o * (T(1) - tc * tc);
  dai = dct * g * i * (T(1) - i);
  daf = dct * c_prev * f * (T(1) - f);
  dag = dct * i * (T(1) - g * g);
  dao = dh * tc * o * (T(1) - o);
  dc_prev = dct * f;
}

// Whether row b takes part in step d.step (see LstmCellDesc).
SIGNET_HD bool lstm_row_active(const LstmCellDesc& d, const int64_t* lengths, int64_t b) {
  return lengths == nullptr || d.step < lengths[b];
}

}  // namespace signet::kernels
