// The fused LSTM cell on the device (v1: one thread per (row, unit)), forward and backward, with
// the semantics, layout and length handling of the reference (kernels/reference/lstm.h,
// kernels/common/lstm_cell.h). Every pointer is a device pointer, lengths included (null: all
// rows active). Launches go to the current stream (stream.h); launchers return the launch status.
#pragma once
#include <cstdint>

#include "kernels/common/lstm_cell.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// gates (N, 4H) pre-activations and c_prev (N, H) -> act (N, 4H, may alias gates), c, h (N, H)
// and y (N, H, may be null); inactive rows copy c_prev and h_prev, zero act and y.
cudaError_t lstm_cell_forward_f32(const kernels::LstmCellDesc& d, const int64_t* lengths,
                                  const float* gates, const float* c_prev, const float* h_prev,
                                  float* act, float* c, float* h, float* y);

// dh, dc (N, H) in: gradients of this step's h (without dy) and c; dy may be null. Out: dgates
// (N, 4H), dc of c_prev, and dh the part of h_prev's gradient bypassing the gates (dh on
// inactive rows, 0 on active ones).
cudaError_t lstm_cell_backward_f32(const kernels::LstmCellDesc& d, const int64_t* lengths,
                                   const float* act, const float* c_prev, const float* c,
                                   const float* dy, float* dh, float* dc, float* dgates);

}  // namespace signet::cuda
