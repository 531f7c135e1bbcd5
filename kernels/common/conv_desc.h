// One convolution problem (2-D or 3-D, PyTorch's cross-correlation) for every version.
// Tensors are contiguous: x (N, C, D, H, W), w (K, C/groups, kD, kH, kW), y (N, K, oD, oH, oW),
// bias (K). A 2-D problem sets dims = 2 and depth 1, kernel depth 1, stride 1, padding 0 and
// dilation 1 in slot 0, so one loop nest serves both. Output sizes are filled in by the caller:
//   out[i] = (in[i] + 2 pad[i] - dilation[i] (kernel[i] - 1) - 1) / stride[i] + 1
#pragma once
#include <cstdint>

namespace signet::kernels {

struct ConvDesc {
  int dims = 2;  // spatial dims of the problem (2 or 3)
  int64_t n = 1, c = 1, k = 1, groups = 1;
  int64_t in[3] = {1, 1, 1};      // (D, H, W)
  int64_t out[3] = {1, 1, 1};     // (oD, oH, oW)
  int64_t kernel[3] = {1, 1, 1};  // (kD, kH, kW)
  int64_t stride[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};
  int64_t dilation[3] = {1, 1, 1};
};

// Elements of one input plane (D * H * W).
inline int64_t conv_in_volume(const ConvDesc& d) {
  return d.in[0] * d.in[1] * d.in[2];
}
// Elements of one output plane (oD * oH * oW).
inline int64_t conv_out_volume(const ConvDesc& d) {
  return d.out[0] * d.out[1] * d.out[2];
}
// Taps of one filter plane (kD * kH * kW).
inline int64_t conv_kernel_volume(const ConvDesc& d) {
  return d.kernel[0] * d.kernel[1] * d.kernel[2];
}

}  // namespace signet::kernels
