// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11; Random123; cuRAND), the
// one source of randomness in Signet, shared by host and device code.
//
// The bijection. A counter c = (c0, c1, c2, c3) and a key k = (k0, k1), all uint32, go
// through 10 rounds. One round, with M0 = 0xD2511F53 and M1 = 0xCD9E8D57 and the 64-bit
// products p0 = M0 * c0 and p1 = M1 * c2 (hi/lo = upper/lower 32 bits):
//   c' = (hi(p1) ^ c1 ^ k0,  lo(p1),  hi(p0) ^ c3 ^ k1,  lo(p0))
// Between rounds (9 times, not after the last) the key is bumped by the Weyl constants:
//   k0 += 0x9E3779B9, k1 += 0xBB67AE85 (mod 2^32).
// The four words after round 10 are the output block. This is Random123's philox4x32_10
// and matches its known-answer vectors (tests/test_philox.cpp).
//
// The mapping from (seed, offset, index) to a 32-bit word, all of them uint64:
//   key     = (lo32(seed), hi32(seed))
//   block   = index / 4
//   counter = (lo32(block), hi32(block), lo32(offset), hi32(offset))
//   word    = output[index % 4]
// So one offset names a sequence of 2^64 blocks of four words, and different offsets never
// share a counter. Example: seed 5, offset 0, index 6 -> key (5, 0), counter (1, 0, 0, 0),
// output (58e37bc0, 27fa600a, 930e368e, 1e94611d), word output[2] = 0x930e368e, float
// uniform 0x930e36 * 2^-24 = 9637430 / 16777216 = 0.57443559...
//
// Words to numbers (every value below is a pure function of (seed, offset, index)):
//   float uniform, element i:  w = word(i); u = (w >> 8) * 2^-24, in [0, 1), 24 bits, exact.
//   double uniform, element i: a = word(2i), b = word(2i + 1) (block i/2, words 2(i%2) and
//                              2(i%2)+1); u = ((a * 2^32 + b) >> 11) * 2^-53, in [0, 1).
//   normal (Box-Muller), element i pairs with its neighbour i ^ 1: with j = i & ~1,
//     float:  u1 = float uniform of word(j), u2 = float uniform of word(j + 1)
//             (block i/4, words i%4 & ~1 and (i%4 & ~1) + 1);
//     double: u1 = double uniform of element j, u2 = double uniform of element j + 1
//             (block i/2, u1 from words 0 and 1, u2 from words 2 and 3);
//     r = sqrt(-2 ln(1 - u1)), t = 2 pi u2; element j gets r cos t, element j + 1 gets r sin t.
//     Both are evaluated in double; the float version rounds the result to float.
// Blocks used by n elements starting at index 0: float ceil(n / 4), double ceil(n / 2), for
// uniforms and normals alike (philox_blocks<T>).
//
// Uniforms (and so dropout masks) are bitwise identical on CPU and CUDA: they use integer
// arithmetic and an exact scaling. Normals go through log/cos/sin, whose last bit may differ
// between the host libm and CUDA's; they agree to within rounding, not bitwise.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hostdev.h"

namespace signet::kernels {

// Four 32-bit words: a Philox counter or an output block.
struct Philox4x32 {
  uint32_t v[4];
};

// The two-word Philox key.
struct PhiloxKey {
  uint32_t k[2];
};

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;

// Upper and lower 32 bits of the 64-bit product a * b.
SIGNET_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// One Philox4x32 round: two multiplies, word swap and xor with the key.
SIGNET_HD Philox4x32 philox4x32_round(Philox4x32 c, PhiloxKey key) {
  uint32_t hi0, lo0, hi1, lo1;
  philox_mulhilo(kPhiloxM0, c.v[0], hi0, lo0);
  philox_mulhilo(kPhiloxM1, c.v[2], hi1, lo1);
  return Philox4x32{{hi1 ^ c.v[1] ^ key.k[0], lo1, hi0 ^ c.v[3] ^ key.k[1], lo0}};
}

// The key schedule between rounds: add the Weyl constants.
SIGNET_HD PhiloxKey philox4x32_bumpkey(PhiloxKey key) {
  return PhiloxKey{{key.k[0] + kPhiloxW0, key.k[1] + kPhiloxW1}};
}

// The full Philox4x32-10 bijection of a counter under a key.
SIGNET_HD Philox4x32 philox4x32_10(Philox4x32 c, PhiloxKey key) {
  for (int round = 0; round < 9; ++round) {
    c = philox4x32_round(c, key);
    key = philox4x32_bumpkey(key);
  }
  return philox4x32_round(c, key);
}

// key = (lo32(seed), hi32(seed)).
SIGNET_HD PhiloxKey philox_key(uint64_t seed) {
  return PhiloxKey{{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
}

// counter = (lo32(block), hi32(block), lo32(offset), hi32(offset)).
SIGNET_HD Philox4x32 philox_counter(uint64_t offset, uint64_t block) {
  return Philox4x32{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                     static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32)}};
}

// The four output words of one block: words 4 * block .. 4 * block + 3 of the sequence.
SIGNET_HD Philox4x32 philox_block(uint64_t seed, uint64_t offset, uint64_t block) {
  return philox4x32_10(philox_counter(offset, block), philox_key(seed));
}

// The 32-bit word for element index: output[index % 4] of block index / 4.
SIGNET_HD uint32_t philox_word(uint64_t seed, uint64_t offset, uint64_t index) {
  return philox_block(seed, offset, index / 4).v[index % 4];
}

// A float in [0, 1) from the top 24 bits of a word: (w >> 8) * 2^-24.
SIGNET_HD float uint_to_unit_float(uint32_t w) {
  return static_cast<float>(w >> 8) * 5.9604644775390625e-8f;
}

// A double in [0, 1) from the top 53 bits of the 64-bit number hi * 2^32 + lo.
SIGNET_HD double uint_to_unit_double(uint32_t hi, uint32_t lo) {
  const uint64_t x = (static_cast<uint64_t>(hi) << 32) | lo;
  return static_cast<double>(x >> 11) * 1.1102230246251565404e-16;
}

// Box-Muller: element 0 (cos) or 1 (sin) of the normal pair made from u1, u2 in [0, 1).
SIGNET_HD double box_muller(double u1, double u2, bool sin_half) {
  const double r = std::sqrt(-2.0 * std::log(1.0 - u1));
  const double t = 6.283185307179586476925 * u2;
  return sin_half ? r * std::sin(t) : r * std::cos(t);
}

// Element index of a uniform [0, 1) sequence of T (float or double).
template <class T>
SIGNET_HD T philox_uniform(uint64_t seed, uint64_t offset, uint64_t index);

// Element index of a standard normal sequence of T (float or double).
template <class T>
SIGNET_HD T philox_normal(uint64_t seed, uint64_t offset, uint64_t index);

// Blocks (counters) consumed by elements 0 .. n-1 of a uniform or normal sequence of T.
template <class T>
SIGNET_HD uint64_t philox_blocks(uint64_t n);

// Float uniform: uint_to_unit_float(word(index)).
template <>
SIGNET_HD float philox_uniform<float>(uint64_t seed, uint64_t offset, uint64_t index) {
  return uint_to_unit_float(philox_word(seed, offset, index));
}

// Double uniform: words 2 * index (high) and 2 * index + 1 (low), both in block index / 2.
template <>
SIGNET_HD double philox_uniform<double>(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 b = philox_block(seed, offset, index / 2);
  const int w = static_cast<int>(index % 2) * 2;
  return uint_to_unit_double(b.v[w], b.v[w + 1]);
}

// Float normal: words (index % 4) & ~1 and the next one of block index / 4.
template <>
SIGNET_HD float philox_normal<float>(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 b = philox_block(seed, offset, index / 4);
  const int w = static_cast<int>(index % 4) & ~1;
  return static_cast<float>(
      box_muller(uint_to_unit_float(b.v[w]), uint_to_unit_float(b.v[w + 1]), (index & 1) != 0));
}

// Double normal: u1 from words 0 and 1, u2 from words 2 and 3 of block index / 2.
template <>
SIGNET_HD double philox_normal<double>(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 b = philox_block(seed, offset, index / 2);
  return box_muller(uint_to_unit_double(b.v[0], b.v[1]), uint_to_unit_double(b.v[2], b.v[3]),
                    (index & 1) != 0);
}

// One word per float element: ceil(n / 4) blocks.
template <>
SIGNET_HD uint64_t philox_blocks<float>(uint64_t n) {
  return n / 4 + (n % 4 != 0);
}

// Two words per double element: ceil(n / 2) blocks.
template <>
SIGNET_HD uint64_t philox_blocks<double>(uint64_t n) {
  return n / 2 + (n % 2 != 0);
}

}  // namespace signet::kernels
