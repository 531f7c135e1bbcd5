// Descriptor of dropout over n contiguous elements whose mask comes from the Philox dropout
// stream. The rule, a pure function of (seed, offset, unit):
//   unit u of element e = (first + e) / group      (group = 1: per element; H*W or D*H*W:
//                                                    one draw per (n, c) channel)
//   h(u)     = 16-bit half-word u of the stream: half u % 2 (0: low, 1: high) of
//              philox_word(seed, offset, u / 2); so Philox block c = u / 8 (counter as in
//              kernels/common/philox.h) serves units 8c .. 8c + 7, unit 8c + j taking the low
//              half of output word j / 2 for even j and its high half for odd j
//   keep(u)  <=>  h(u) >= ceil(p 2^16)   (<=> h(u) 2^-16 >= p, exact; p = 0 keeps every unit,
//                                          p = 1 gives 2^16 and drops every unit)
//   y = keep ? x * scale : 0,  scale = 1 / (1 - p)  (p = 1: every element dropped, y = 0)
// `first` is the global index of element 0, so a tensor can be processed in chunks (or by
// threads) and give the same mask as in one piece. Units 0 .. m-1 use ceil(m / 8) Philox
// blocks (dropout_blocks, which the dropout op reserves from its stream). Example: seed 5, offset
// 0, block 1 has output words (58e37bc0, 27fa600a, 930e368e, 1e94611d) (kernels/common/philox.h),
// so units 8 .. 15 get h = 7bc0, 58e3, 600a, 27fa, 368e, 930e, 611d, 1e94; unit 13 (h = 0x930e =
// 37646) is kept for p <= 37646 / 2^16 = 0.574432... and dropped above.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hostdev.h"
#include "kernels/common/philox.h"

namespace signet::kernels {

struct DropoutDesc {
  int64_t n = 0;      // elements to process
  int64_t first = 0;  // global element index of element 0
  int64_t group = 1;  // consecutive elements sharing one draw
  double p = 0.5;     // drop probability in [0, 1]
  uint64_t seed = 0;
  uint64_t offset = 0;
};

// Dropout units served by one Philox block (8 half-words).
constexpr int64_t kDropoutUnitsPerBlock = 8;

// The drop threshold ceil(p 2^16), 2^16 for p = 1 (no 16-bit half-word reaches it).
SIGNET_HD uint32_t dropout_threshold(double p) {
  const double scaled = std::ceil(p * 65536.0);
  return static_cast<uint32_t>(scaled < 65536.0 ? scaled : 65536.0);
}

// Half-word j (0 .. 7) of a Philox output block: low half of word j / 2 for even j, else high.
SIGNET_HD uint32_t dropout_halfword(const Philox4x32& b, int j) {
  // Word j / 2 chosen with selects, not b.v[j / 2]: a run-time index into the array puts it in
  // GPU local memory (a stack frame, which the ptxas check of hot kernels refuses).
  const uint32_t w = j < 4 ? (j < 2 ? b.v[0] : b.v[1]) : (j < 6 ? b.v[2] : b.v[3]);
  return (w >> (16 * (j % 2))) & 0xFFFFu;
}

// The 16-bit half-word h(unit) of the dropout rule.
SIGNET_HD uint32_t dropout_halfword(uint64_t seed, uint64_t offset, uint64_t unit) {
  return dropout_halfword(philox_block(seed, offset, unit / 8), static_cast<int>(unit % 8));
}

// Philox blocks (counters) used by units 0 .. units - 1: ceil(units / 8).
SIGNET_HD uint64_t dropout_blocks(uint64_t units) {
  return units / 8 + (units % 8 != 0);
}

}  // namespace signet::kernels
