// One ConvLSTM layer (one direction) as one multi-output autograd node on the fused device kernels
// (kernels/cuda/convlstm_fused.h: per step the h-path convolution with the gate math in its
// epilogue; math and shapes in kernels/common/convlstm_desc.h). nn::ConvLSTM runs its cuda f32
// layers through it; the CPU composes the same math of convolutions and elementwise ops.
#pragma once
#include "engine/tensor.h"

namespace signet {

// A layer's parameters with gate blocks in (i, f, g, o) order: w_x (4 hid, C, k, k), w_h (4 hid,
// hid, k, k), bias (4 hid); peepholes ci, cf, co each hid (per channel) or hid H W (per position)
// values, all undefined without peepholes.
struct ConvLstmLayerWeights {
  Tensor w_x, w_h, bias, ci, cf, co;
};

// What conv_lstm_layer returns: output (T, N, hid, H, W), h_n and c_n (N, hid, H, W).
struct ConvLstmLayerResult {
  Tensor output, h_n, c_n;
};

// Runs the layer over time-major x (T, N, C, H, W) from h0 and c0 (N, hid, H, W; zeros when
// undefined); lengths (i64 (N), values in [0, T], any device) as nn::ConvLSTM's. f32 on a cuda
// device only.
ConvLstmLayerResult conv_lstm_layer(const Tensor& x, const ConvLstmLayerWeights& w,
                                    const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
                                    const Tensor& lengths = Tensor());

}  // namespace signet
