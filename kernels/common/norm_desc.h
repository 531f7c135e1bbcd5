// Descriptors of batch norm and layer norm over contiguous tensors.
//   batch norm: x viewed as (n, c, inner); statistics per channel c over n * inner elements.
//   layer norm: x viewed as (rows, cols); statistics per row over its cols elements.
// Variances are biased (divide by the count); invstd = 1 / sqrt(var + eps).
#pragma once
#include <cstdint>

namespace signet::kernels {

struct BatchNormDesc {
  int64_t n = 1;      // batch size
  int64_t c = 1;      // channels
  int64_t inner = 1;  // elements per (n, c) slice (L, H*W or D*H*W; 1 for (N, C))
  double eps = 1e-5;  // added to the variance
};

struct LayerNormDesc {
  int64_t rows = 1;  // independent rows
  int64_t cols = 1;  // elements per row (product of normalized_shape)
  double eps = 1e-5;
};

}  // namespace signet::kernels
