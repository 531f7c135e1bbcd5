// One ConvLSTM layer on the fused kernels (kernels/cuda/convlstm_fused.h): sizes, peepholes, the
// forward buffers and the gradients, as raw pointers the engine and the benchmarks hand over.
// Shapes (time-major, NCHW maps, U = hidden H W units per sample): x (T, N, C, H, W); w_x (4 hid,
// C, k, k), w_h (4 hid, hid, k, k), bias (4 hid) with gate blocks in (i, f, g, o) order; peepholes
// (hid) per channel or (hid, H, W) per position; 'same' padding, odd k.
#pragma once
#include <cstdint>

namespace signet::kernels {

// Sizes of a layer; peephole: 0 none, 1 per channel, 2 per position.
struct ConvLstmDesc {
  int64_t steps = 0, batch = 0, input = 0, hidden = 0, height = 0, width = 0, kernel = 3;
  int peephole = 0;
};

// The peephole weights (null without peepholes).
struct ConvLstmPeepholes {
  const float *ci = nullptr, *cf = nullptr, *co = nullptr;
};

// The forward buffers: act (T, N, 4U) the activated gates (it first holds the x-path gates);
// hbuf, cbuf (T+1, N, U) the states, slot 0 the initial one and slot t+1 the state after step t;
// y (T, N, U) the output with zeros past each length (may be null without lengths: then the
// output is hbuf from slot 1); h_n and c_n are slot T.
struct ConvLstmBuffers {
  float *act = nullptr, *hbuf = nullptr, *cbuf = nullptr, *y = nullptr;
};

// The gradients the backward writes (a null one is not computed; dx, w_x, w_h, bias and the
// peepholes' are overwritten). dh and dc (N, U) hold the gradients of h_n and c_n on entry (zeros
// when none) and those of h0 and c0 on exit. dgates (T, N, 4U) is workspace and holds the
// pre-activation gradients on exit.
struct ConvLstmGrads {
  float *x = nullptr, *w_x = nullptr, *w_h = nullptr, *bias = nullptr;
  float *ci = nullptr, *cf = nullptr, *co = nullptr;
  float *dh = nullptr, *dc = nullptr, *dgates = nullptr;
};

}  // namespace signet::kernels
