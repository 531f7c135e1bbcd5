// The convolution layers the issue measures, shared by bench_conv.cpp and bench_cuda_conv.cpp:
// the cases, their descriptors and their flop count; sign_cnn's layers (bench_conv.cpp only).
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"

namespace signet::bench {

// One case: N, C, spatial (D, H, W) -> K, kernel 3 (3x3 or 3x3x3), padding 1.
struct ConvCase {
  const char* name;
  int dims;
  int64_t n, c, d, h, w, k;
  bool first_layer;  // backward-data is never needed
};

// The five layers.
inline const ConvCase kConvCases[] = {
    {"A_n128_c1_28x28_k32", 2, 128, 1, 1, 28, 28, 32, true},
    {"B_n128_c32_14x14_k64", 2, 128, 32, 1, 14, 14, 64, false},
    {"C_n8_c128_32x32_k256", 2, 8, 128, 1, 32, 32, 256, false},
    {"D_n32_c64_56x56_k64", 2, 32, 64, 1, 56, 56, 64, false},
    {"E_n4_c3_16x112x112_k64", 3, 4, 3, 16, 112, 112, 64, true},
};

// sign_cnn's two convolutions at its training batch of 64 (issue #8; 3x3, padding 1), where
// per-call set-up counts: one training step of the model takes about 15 ms in all.
inline const ConvCase kSignCnnConvCases[] = {
    {"A64_n64_c1_28x28_k32", 2, 64, 1, 1, 28, 28, 32, true},
    {"B64_n64_c32_14x14_k64", 2, 64, 32, 1, 14, 14, 64, false},
};

// The ConvLSTM case's two gate convolutions (bench_rnn's T16 B8 in64 hid64 32x32, issue #5): the
// h-path of one step, and the x-path of all 16 steps as one batched call.
inline const ConvCase kConvLstmConvCases[] = {
    {"Lh_n8_c64_32x32_k256", 2, 8, 64, 1, 32, 32, 256, false},
    {"Lx_n128_c64_32x32_k256", 2, 128, 64, 1, 32, 32, 256, false},
};

// The descriptor of a case (stride 1, padding 1, dilation 1: output size = input size).
inline kernels::ConvDesc conv_desc_of(const ConvCase& c) {
  kernels::ConvDesc d;
  d.dims = c.dims;
  d.n = c.n, d.c = c.c, d.k = c.k;
  const int64_t in[3] = {c.d, c.h, c.w};
  for (int s = 3 - c.dims; s < 3; ++s) {
    d.in[s] = d.out[s] = in[s];
    d.kernel[s] = 3;
    d.pad[s] = 1;
  }
  return d;
}

// 2 N K C/groups taps P: the multiply-adds of any pass, counted twice.
inline double conv_flops(const kernels::ConvDesc& d) {
  return 2.0 * double(d.n) * double(d.k) * double(d.c / d.groups) *
         double(kernels::conv_kernel_volume(d)) * double(kernels::conv_out_volume(d));
}

}  // namespace signet::bench
