// The random host inputs of one LSTM layer for the simt LSTM kernel tests (test_cuda_lstm.cpp,
// test_cuda_lstm_persistent.cpp): x, PyTorch-initialised weights and bias, initial state and the
// gradients of y, h_n and c_n, each from its own seed.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cuda/lstm_seq.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {

struct LstmLayerInputs {
  std::vector<float> x, w_ih, w_hh, bias, h0, c0, dy, dh_n, dc_n;

  // Weights and bias uniform in +-1/sqrt(H) (bias twice that: b_ih + b_hh), the rest in +-1.
  LstmLayerInputs(const LstmSeqDesc& d, uint32_t seed) {
    const size_t nh = size_t(d.batch * d.hidden), g = size_t(4 * d.hidden);
    const float k = 1.0f / std::sqrt(float(d.hidden));
    x = uniform(size_t(d.steps * d.batch * d.input), 1.0f, seed);
    w_ih = uniform(g * size_t(d.input), k, seed + 1);
    w_hh = uniform(g * size_t(d.hidden), k, seed + 2);
    bias = uniform(g, 2 * k, seed + 3);
    h0 = uniform(nh, 1.0f, seed + 4);
    c0 = uniform(nh, 1.0f, seed + 5);
    dy = uniform(size_t(d.steps) * nh, 1.0f, seed + 6);
    dh_n = uniform(nh, 1.0f, seed + 7);
    dc_n = uniform(nh, 1.0f, seed + 8);
  }
};

}  // namespace signet::cuda
