// Philox4x32-10 against Random123's known answers, the documented (seed, offset, index)
// mapping, the statistics of the fills and the per-purpose stream layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <set>
#include <vector>

#include "engine/error.h"
#include "engine/random.h"
#include "kernels/common/philox.h"
#include "kernels/reference/random.h"

namespace {

namespace k = signet::kernels;
constexpr double kTwoPi = 6.283185307179586476925;
namespace ref = signet::ref;
using signet::RngStream;

// Independent Philox4x32-10 written from the paper: 32x32->64 products from 16-bit limbs and
// the ten round keys listed up front, to cross-check the header's implementation.
std::vector<uint32_t> slow_philox(std::vector<uint32_t> c, uint32_t k0, uint32_t k1) {
  auto mul = [](uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    const uint64_t a0 = a & 0xFFFF, a1 = a >> 16, b0 = b & 0xFFFF, b1 = b >> 16;
    const uint64_t mid = a1 * b0 + a0 * b1;
    const uint64_t low = a0 * b0 + ((mid & 0xFFFF) << 16);
    lo = static_cast<uint32_t>(low & 0xFFFFFFFFu);
    hi = static_cast<uint32_t>(a1 * b1 + (mid >> 16) + (low >> 32));
  };
  std::vector<uint32_t> key0(10), key1(10);
  for (uint32_t r = 0; r < 10; ++r) {
    key0[r] = k0 + r * 0x9E3779B9u;
    key1[r] = k1 + r * 0xBB67AE85u;
  }
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mul(0xD2511F53u, c[0], hi0, lo0);
    mul(0xCD9E8D57u, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ key0[r], lo1, hi0 ^ c[3] ^ key1[r], lo0};
  }
  return c;
}

// The header's bijection on a counter and key given as plain words.
std::vector<uint32_t> fast_philox(std::vector<uint32_t> c, uint32_t k0, uint32_t k1) {
  const k::Philox4x32 out =
      k::philox4x32_10(k::Philox4x32{{c[0], c[1], c[2], c[3]}}, k::PhiloxKey{{k0, k1}});
  return {out.v[0], out.v[1], out.v[2], out.v[3]};
}

// Word index of the sequence (seed, offset) by the documented mapping, via slow_philox.
uint32_t slow_word(uint64_t seed, uint64_t offset, uint64_t index) {
  const uint64_t block = index / 4;
  const std::vector<uint32_t> out = slow_philox(
      {uint32_t(block), uint32_t(block >> 32), uint32_t(offset), uint32_t(offset >> 32)},
      uint32_t(seed), uint32_t(seed >> 32));
  return out[index % 4];
}

// Sample mean and (population) variance.
void moments(const std::vector<double>& x, double& mean, double& var) {
  mean = std::accumulate(x.begin(), x.end(), 0.0) / x.size();
  var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= x.size();
}

// Random123 kat_vectors, philox4x32 10: counter, key -> output.
TEST(Philox, Random123KnownAnswers) {
  struct Kat {
    std::vector<uint32_t> ctr;
    uint32_t k0, k1;
    std::vector<uint32_t> out;
  };
  const std::vector<Kat> kats = {
      {{0, 0, 0, 0}, 0, 0, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       0xffffffff,
       0xffffffff,
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       0xa4093822,
       0x299f31d0,
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& t : kats) {
    EXPECT_EQ(fast_philox(t.ctr, t.k0, t.k1), t.out);
    EXPECT_EQ(slow_philox(t.ctr, t.k0, t.k1), t.out);
  }
}

// The two implementations agree away from the known answers too.
TEST(Philox, MatchesIndependentImplementation) {
  uint32_t x = 12345;
  for (int i = 0; i < 200; ++i) {
    std::vector<uint32_t> c(4);
    for (uint32_t& w : c) w = x = x * 1664525u + 1013904223u;
    const uint32_t k0 = x = x * 1664525u + 1013904223u;
    const uint32_t k1 = x = x * 1664525u + 1013904223u;
    EXPECT_EQ(fast_philox(c, k0, k1), slow_philox(c, k0, k1));
  }
}

// The worked example of philox.h: seed 5, offset 0, index 6.
TEST(Philox, WorkedExample) {
  EXPECT_EQ(fast_philox({1, 0, 0, 0}, 5, 0),
            (std::vector<uint32_t>{0x58e37bc0, 0x27fa600a, 0x930e368e, 0x1e94611d}));
  EXPECT_EQ(k::philox_word(5, 0, 6), 0x930e368eu);
  EXPECT_EQ(k::philox_uniform<float>(5, 0, 6), 9637430.0f / 16777216.0f);
}

// key = seed halves, counter = (index / 4 halves, offset halves), word = index % 4.
TEST(Philox, WordMapping) {
  const uint64_t seed = 0x0123456789abcdefull, offset = 0xfedcba9876543210ull;
  for (uint64_t index : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{4},
                         uint64_t{1001}, (uint64_t{5} << 34) + 7, ~uint64_t{0}})
    EXPECT_EQ(k::philox_word(seed, offset, index), slow_word(seed, offset, index)) << index;
}

// Element i of a float fill is uint_to_unit_float(word i); of a double fill, words 2i, 2i+1.
TEST(Philox, FillUsesIndexI) {
  const uint64_t seed = 0xdeadbeefcafef00dull, offset = (uint64_t{3} << 40) + 17;
  const int64_t n = 37;
  std::vector<float> f(n);
  std::vector<double> d(n);
  ref::fill_uniform(f.data(), n, seed, offset, 0.0f, 1.0f);
  ref::fill_uniform(d.data(), n, seed, offset, 0.0, 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t u = static_cast<uint64_t>(i);
    EXPECT_EQ(f[i], k::uint_to_unit_float(k::philox_word(seed, offset, u)));
    EXPECT_EQ(f[i], (slow_word(seed, offset, u) >> 8) * 0x1p-24f);
    const uint64_t bits =
        (uint64_t{slow_word(seed, offset, 2 * u)} << 32) | slow_word(seed, offset, 2 * u + 1);
    EXPECT_EQ(d[i], static_cast<double>(bits >> 11) * 0x1p-53);
  }
}

// The word-to-float conversions at their edges.
TEST(Philox, UnitConversions) {
  EXPECT_EQ(k::uint_to_unit_float(0), 0.0f);
  EXPECT_EQ(k::uint_to_unit_float(0xFF), 0.0f);
  EXPECT_EQ(k::uint_to_unit_float(0x100), 0x1p-24f);
  EXPECT_EQ(k::uint_to_unit_float(0x80000000u), 0.5f);
  EXPECT_EQ(k::uint_to_unit_float(0xFFFFFFFFu), 1.0f - 0x1p-24f);
  EXPECT_EQ(k::uint_to_unit_double(0, 0), 0.0);
  EXPECT_EQ(k::uint_to_unit_double(0, 0x800), 0x1p-53);
  EXPECT_EQ(k::uint_to_unit_double(0x80000000u, 0), 0.5);
  EXPECT_EQ(k::uint_to_unit_double(0xFFFFFFFFu, 0xFFFFFFFFu), 1.0 - 0x1p-53);
}

// Normal element i pairs with i ^ 1 over the documented words (Box-Muller in double).
TEST(Philox, NormalPairing) {
  const uint64_t seed = 42, offset = 7;
  const int64_t n = 13;
  std::vector<float> f(n);
  std::vector<double> d(n);
  ref::fill_normal(f.data(), n, seed, offset, 0.0f, 1.0f);
  ref::fill_normal(d.data(), n, seed, offset, 0.0, 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t j = static_cast<uint64_t>(i) & ~uint64_t{1};
    const double fu1 = (slow_word(seed, offset, j) >> 8) * 0x1p-24;
    const double fu2 = (slow_word(seed, offset, j + 1) >> 8) * 0x1p-24;
    EXPECT_EQ(f[i], static_cast<float>(k::box_muller(fu1, fu2, i % 2 == 1)));
    const double du1 = k::philox_uniform<double>(seed, offset, j);
    const double du2 = k::philox_uniform<double>(seed, offset, j + 1);
    EXPECT_EQ(d[i], k::box_muller(du1, du2, i % 2 == 1));
    if (i % 2 == 1) {  // The pair (r cos t, r sin t) has radius r = sqrt(-2 ln(1 - u1)).
      EXPECT_NEAR(d[i - 1] * d[i - 1] + d[i] * d[i], -2.0 * std::log(1.0 - du1), 1e-12);
      EXPECT_NEAR(std::atan2(d[i], d[i - 1]), std::remainder(kTwoPi * du2, kTwoPi), 1e-12);
    }
  }
}

// Blocks consumed by n elements: ceil(n / 4) for float, ceil(n / 2) for double.
TEST(Philox, BlockCounts) {
  EXPECT_EQ(k::philox_blocks<float>(0), 0u);
  EXPECT_EQ(k::philox_blocks<float>(1), 1u);
  EXPECT_EQ(k::philox_blocks<float>(4), 1u);
  EXPECT_EQ(k::philox_blocks<float>(5), 2u);
  EXPECT_EQ(k::philox_blocks<double>(1), 1u);
  EXPECT_EQ(k::philox_blocks<double>(2), 1u);
  EXPECT_EQ(k::philox_blocks<double>(3), 2u);
}

// Uniform [0, 1) moments on 1e5 samples. Standard errors: mean sqrt(1/12/n) = 9.1e-4;
// variance sqrt((1/80 - 1/144)/n) = 2.4e-4. Tolerances are 5 standard errors.
TEST(Philox, UniformMoments) {
  const int64_t n = 100000;
  std::vector<float> f(n);
  std::vector<double> d(n);
  ref::fill_uniform(f.data(), n, 2024, 0, 0.0f, 1.0f);
  ref::fill_uniform(d.data(), n, 2024, 1, 0.0, 1.0);
  for (const std::vector<double>& x : {std::vector<double>(f.begin(), f.end()), d}) {
    EXPECT_GE(*std::min_element(x.begin(), x.end()), 0.0);
    EXPECT_LT(*std::max_element(x.begin(), x.end()), 1.0);
    double mean, var;
    moments(x, mean, var);
    EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
    EXPECT_NEAR(var, 1.0 / 12, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
  }
  std::vector<float> g(n);
  ref::fill_uniform(g.data(), n, 2024, 2, -2.0f, 3.0f);
  EXPECT_GE(*std::min_element(g.begin(), g.end()), -2.0f);
  EXPECT_LT(*std::max_element(g.begin(), g.end()), 3.0f);
}

// Standard normal moments on 1e5 samples. Standard errors: mean 1/sqrt(n) = 3.2e-3; variance
// sqrt(2/n) = 4.5e-3; fraction within one sigma sqrt(p(1-p)/n) = 1.5e-3. Tolerances: 5 SE.
TEST(Philox, NormalMoments) {
  const int64_t n = 100000;
  std::vector<float> f(n);
  std::vector<double> d(n);
  ref::fill_normal(f.data(), n, 2024, 0, 0.0f, 1.0f);
  ref::fill_normal(d.data(), n, 2024, 1, 0.0, 1.0);
  for (const std::vector<double>& x : {std::vector<double>(f.begin(), f.end()), d}) {
    double mean, var;
    moments(x, mean, var);
    EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(double(n)));
    EXPECT_NEAR(var, 1.0, 5 * std::sqrt(2.0 / n));
    const double p = std::erf(1 / std::sqrt(2.0));
    const double within =
        std::count_if(x.begin(), x.end(), [](double v) { return std::fabs(v) < 1; }) / double(n);
    EXPECT_NEAR(within, p, 5 * std::sqrt(p * (1 - p) / n));
  }
  std::vector<double> s(n);
  ref::fill_normal(s.data(), n, 2024, 2, 3.0, 2.0);
  double mean, var;
  moments(s, mean, var);
  EXPECT_NEAR(mean, 3.0, 5 * 2 / std::sqrt(double(n)));
  EXPECT_NEAR(var, 4.0, 5 * 4 * std::sqrt(2.0 / n));
}

// A stream call reads blocks 0.. at the current offset, then moves past them.
TEST(RngStream, OffsetAdvancesByCountersConsumed) {
  RngStream s = signet::init_stream(99);
  const uint64_t start = s.offset;
  std::vector<float> a(10), b(7), ra(10), rb(7);
  s.uniform(a.data(), 10);
  EXPECT_EQ(s.offset, start + 3);
  s.uniform(b.data(), 7);
  EXPECT_EQ(s.offset, start + 5);
  ref::fill_uniform(ra.data(), 10, 99, start, 0.0f, 1.0f);
  ref::fill_uniform(rb.data(), 7, 99, start + 3, 0.0f, 1.0f);
  EXPECT_EQ(a, ra);
  EXPECT_EQ(b, rb);
  for (float v : b) EXPECT_EQ(std::count(a.begin(), a.end(), v), 0);  // Disjoint counters.

  std::vector<double> d(5), rd(5);
  s.normal(d.data(), 5, 1.0, 2.0);
  ref::fill_normal(rd.data(), 5, 99, start + 5, 1.0, 2.0);
  EXPECT_EQ(d, rd);
  EXPECT_EQ(s.offset, start + 8);
  EXPECT_EQ(s.next_u32(), k::philox_word(99, start + 8, 0));
  EXPECT_EQ(s.offset, start + 9);
  EXPECT_EQ(s.reserve(4), start + 9);
  EXPECT_EQ(s.offset, start + 13);
}

// Every purpose and every step, epoch and sample owns its own offsets and its own numbers.
TEST(RngStream, PurposesAreDisjoint) {
  const uint64_t seed = 7;
  const std::vector<RngStream> streams = {
      signet::init_stream(seed),
      signet::dropout_stream(seed, 0),
      signet::dropout_stream(seed, 1),
      signet::dropout_stream(seed, (1u << 30) - 1),
      signet::shuffle_stream(seed, 0),
      signet::shuffle_stream(seed, 1),
      signet::augment_stream(seed, 0, 0),
      signet::augment_stream(seed, 0, 1),
      signet::augment_stream(seed, 1, 0),
      signet::augment_stream(seed, (1u << 16) - 1, (1u << 26) - 1),
      signet::init_stream(seed + 1),
  };
  for (size_t i = 0; i < streams.size(); ++i) {
    for (size_t j = i + 1; j < streams.size(); ++j) {
      const RngStream &a = streams[i], &b = streams[j];
      if (a.seed == b.seed) {  // Same key: the offset ranges must not meet.
        const bool apart = a.offset - b.offset >= b.left && b.offset - a.offset >= a.left;
        EXPECT_TRUE(apart) << i << " " << j;
      }
      RngStream x = a, y = b;
      std::vector<float> u(64), v(64);
      x.uniform(u.data(), 64);
      y.uniform(v.data(), 64);
      EXPECT_NE(u, v) << i << " " << j;
    }
  }
  EXPECT_EQ(signet::init_stream(seed).offset >> 62, 0u);
  EXPECT_EQ(signet::dropout_stream(seed, 5).offset, (uint64_t{1} << 62) | (uint64_t{5} << 32));
  EXPECT_EQ(signet::shuffle_stream(seed, 5).offset, (uint64_t{2} << 62) | (uint64_t{5} << 32));
  EXPECT_EQ(signet::augment_stream(seed, 5, 9).offset,
            (uint64_t{3} << 62) | (uint64_t{5} << 46) | (uint64_t{9} << 20));
}

// Out-of-range step, epoch or sample, and running past a range, are errors.
TEST(RngStream, RangesAreChecked) {
  EXPECT_THROW(signet::dropout_stream(1, uint64_t{1} << 30), signet::Error);
  EXPECT_THROW(signet::shuffle_stream(1, uint64_t{1} << 30), signet::Error);
  EXPECT_THROW(signet::augment_stream(1, uint64_t{1} << 16, 0), signet::Error);
  EXPECT_THROW(signet::augment_stream(1, 0, uint64_t{1} << 26), signet::Error);
  RngStream s = signet::augment_stream(1, (1u << 16) - 1, (1u << 26) - 1);
  EXPECT_EQ(s.left, uint64_t{1} << 20);
  s.reserve((uint64_t{1} << 20) - 1);
  s.next_u32();
  EXPECT_THROW(s.next_u32(), signet::Error);
  std::vector<float> out(1);
  EXPECT_THROW(s.uniform(out.data(), 1), signet::Error);
  EXPECT_THROW(s.uniform(out.data(), -1), signet::Error);
  EXPECT_THROW(s.uniform_int(0), signet::Error);
}

// uniform_int: the documented draw, bounds, and flat counts (SE sqrt(n p (1 - p)), 5 SE).
TEST(RngStream, UniformInt) {
  RngStream s = signet::shuffle_stream(3, 0);
  const uint64_t off = s.offset;
  const uint64_t big = (uint64_t{1} << 63) + 1;
  uint64_t at = off, x;
  do {  // 2^64 mod big = 2^63 - 1: draws below it are rejected.
    x = (uint64_t{k::philox_word(3, at, 1)} << 32) | k::philox_word(3, at, 0);
    ++at;
  } while (x < (uint64_t{1} << 63) - 1);
  EXPECT_EQ(s.uniform_int(big), x % big);
  EXPECT_EQ(s.offset, at);
  EXPECT_EQ(s.uniform_int(1), 0u);

  const int draws = 60000, faces = 6;
  std::vector<int> count(faces);
  for (int i = 0; i < draws; ++i) ++count[s.uniform_int(faces)];
  const double expect = double(draws) / faces;
  for (int c : count) EXPECT_NEAR(c, expect, 5 * std::sqrt(expect * (1 - 1.0 / faces)));
}

// Fisher-Yates with uniform_int: a permutation, the same for the same (seed, epoch).
TEST(RngStream, ShuffleIsDeterministicPermutation) {
  auto shuffle = [](uint64_t seed, uint64_t epoch) {
    std::vector<int> p(100);
    std::iota(p.begin(), p.end(), 0);
    RngStream s = signet::shuffle_stream(seed, epoch);
    for (size_t i = p.size() - 1; i > 0; --i) std::swap(p[i], p[s.uniform_int(i + 1)]);
    return p;
  };
  const std::vector<int> p = shuffle(11, 2);
  EXPECT_EQ(std::set<int>(p.begin(), p.end()).size(), p.size());
  EXPECT_EQ(shuffle(11, 2), p);
  EXPECT_NE(shuffle(11, 3), p);
  EXPECT_NE(shuffle(12, 2), p);
}

// Same seed, bitwise same numbers; manual_seed resets the default init stream.
TEST(RngStream, Deterministic) {
  auto draw = [](RngStream s) {
    std::vector<float> f(33);
    std::vector<double> d(33);
    s.normal(f.data(), 33);
    s.uniform(d.data(), 33);
    std::vector<unsigned char> bytes(sizeof(float) * 33 + sizeof(double) * 33);
    std::memcpy(bytes.data(), f.data(), sizeof(float) * 33);
    std::memcpy(bytes.data() + sizeof(float) * 33, d.data(), sizeof(double) * 33);
    return bytes;
  };
  EXPECT_EQ(draw(signet::dropout_stream(5, 8)), draw(signet::dropout_stream(5, 8)));
  EXPECT_NE(draw(signet::dropout_stream(5, 8)), draw(signet::dropout_stream(6, 8)));

  signet::manual_seed(123);
  EXPECT_EQ(signet::default_init_stream().seed, 123u);
  const std::vector<unsigned char> first = draw(signet::default_init_stream());
  signet::default_init_stream().reserve(10);
  signet::manual_seed(123);
  EXPECT_EQ(signet::default_init_stream().offset, 0u);
  EXPECT_EQ(draw(signet::default_init_stream()), first);
}

}  // namespace
