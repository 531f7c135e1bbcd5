// One pooling problem (2-D or 3-D) over contiguous (N, C, D, H, W) planes, as PyTorch pools:
// max (with dilation; indices are i64 flat offsets d*H*W + h*W + w within the input plane) and
// average (windows clipped to the padded input; count_include_pad divides by the clipped
// padded window, otherwise by the in-bounds elements). A 2-D problem sets dims = 2 and depth 1
// in slot 0 (kernel 1, stride 1, padding 0, dilation 1). Output sizes are filled in by the
// caller (ceil_mode is the caller's choice of out[]). Adaptive pooling reads only in and out.
#pragma once
#include <cstdint>

namespace signet::kernels {

struct PoolDesc {
  int dims = 2;        // spatial dims of the problem (2 or 3)
  int64_t planes = 1;  // N * C
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};
  int64_t kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};
  int64_t dilation[3] = {1, 1, 1};
  bool count_include_pad = true;
};

}  // namespace signet::kernels
