// Softmax along the middle axis of a contiguous (outer, dim, inner) tensor.
#pragma once
#include <cstdint>

namespace signet::kernels {

struct SoftmaxDesc {
  int64_t outer = 1, dim = 1, inner = 1;
};

}  // namespace signet::kernels
