// Negative log-likelihood over log-probabilities laid out contiguous (n, c, inner) with
// targets (n, inner); inner is 1 for the usual (n, c) case.
#pragma once
#include <cstdint>

namespace signet::kernels {

struct NllDesc {
  int64_t n = 0, c = 0, inner = 1;
  int64_t ignore_index = -100;  // targets equal to this contribute nothing
};

}  // namespace signet::kernels
