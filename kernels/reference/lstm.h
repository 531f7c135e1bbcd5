// Reference fused LSTM cell, forward and backward, over one time step of a batch (see
// kernels/common/lstm_cell.h for the gate layout and the meaning of lengths).
#pragma once
#include <cstdint>

#include "kernels/common/lstm_cell.h"

namespace signet::ref {

// One step: gates (N, 4H) pre-activations and c_prev (N, H) -> act (N, 4H) activated gates
// (may alias gates), c and h (N, H); y (N, H, may be null) gets h on active rows and 0 on
// inactive ones. Inactive rows copy c_prev and h_prev (read only for them; h_prev may be null
// when lengths is null) and set act to 0.
template <class T>
void lstm_cell_forward(const kernels::LstmCellDesc& d, const int64_t* lengths, const T* gates,
                       const T* c_prev, const T* h_prev, T* act, T* c, T* h, T* y);

// lstm_cell_forward on the pre-activations gates + gates2, first added into act (which may alias
// gates or gates2): the twin of the fused two-input cell.
template <class T>
void lstm_cell_forward_sum(const kernels::LstmCellDesc& d, const int64_t* lengths, const T* gates,
                           const T* gates2, const T* c_prev, const T* h_prev, T* act, T* c, T* h,
                           T* y);

// Gradient of one step. On entry dh and dc (N, H) hold the gradients of this step's h (from
// later steps and h_n, without dy) and c; dy (N, H, may be null) is the gradient of y. On exit
// dgates (N, 4H) holds the gradients of the pre-activations, dc that of c_prev, and dh the
// part of h_prev's gradient that bypasses the gates (dh on inactive rows, 0 on active ones):
// the caller adds dgates W_hh to it.
template <class T>
void lstm_cell_backward(const kernels::LstmCellDesc& d, const int64_t* lengths, const T* act,
                        const T* c_prev, const T* c, const T* dy, T* dh, T* dc, T* dgates);

}  // namespace signet::ref
