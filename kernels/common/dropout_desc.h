// Descriptor of dropout over n contiguous elements whose mask comes from the Philox dropout
// stream. The rule, a pure function of (seed, offset, unit):
//   unit u of element e = (first + e) / group      (group = 1: per element; H*W or D*H*W:
//                                                    one draw per (n, c) channel)
//   keep(u)  <=>  double(philox_uniform<float>(seed, offset, u)) >= p
//   y = keep ? x * scale : 0,  scale = 1 / (1 - p)  (p = 1: every element dropped, y = 0)
// `first` is the global index of element 0, so a tensor can be processed in chunks (or by
// threads) and give the same mask as in one piece.
#pragma once
#include <cstdint>

namespace signet::kernels {

struct DropoutDesc {
  int64_t n = 0;      // elements to process
  int64_t first = 0;  // global element index of element 0
  int64_t group = 1;  // consecutive elements sharing one draw
  double p = 0.5;     // drop probability in [0, 1]
  uint64_t seed = 0;
  uint64_t offset = 0;
};

}  // namespace signet::kernels
