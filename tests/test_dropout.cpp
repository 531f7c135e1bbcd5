// Dropout: the mask is a pure function of (seed, offset, index) recomputed here from
// kernels/common/philox.h, the backward regenerates it, the keep fraction is 1 - p within a
// standard-error bound, chunks give the same mask, channel forms drop whole (n, c) channels,
// p = 0 / p = 1 / eval edge cases, modules, errors and f64 gradchecks on a fixed stream; the
// fast v2 and v3 kernels are bit-identical to the reference for any thread count, chunking and
// size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/dispatch.h"
#include "engine/nn/dropout.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/dropout.h"
#include "kernels/reference/dropout.h"
#include "tests/support/expect_error.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::expect_error;
using testing::gradcheck;
using testing::random_f64;

// Whether unit u survives under (seed, offset): half-word u of the stream (half u % 2, low
// first, of word u / 2) read as u16 2^-16, kept when >= p.
bool kept(uint64_t seed, uint64_t offset, uint64_t unit, double p) {
  const uint32_t word = kernels::philox_word(seed, offset, unit / 2);
  const uint32_t half = unit % 2 == 0 ? word & 0xFFFFu : word >> 16;
  return static_cast<double>(half) / 65536.0 >= p;
}

TEST(Dropout, MaskIsAPureFunctionOfSeedOffsetIndex) {
  RngStream s = dropout_stream(42, 7);
  const RngStream before = s;
  const int64_t n = 1003;
  const double p = 0.3;
  Tensor x = arange(1.0, n + 1.0, 1.0, DType::f32);
  std::vector<float> y = dropout(x, p, true, s).to_vector<float>();
  EXPECT_EQ(s.offset, before.offset + kernels::dropout_blocks(n));
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  for (int64_t i = 0; i < n; ++i) {
    const float want = kept(42, before.offset, i, p) ? static_cast<float>(i + 1) * scale : 0.0f;
    ASSERT_EQ(y[i], want) << "element " << i;
  }
  // The same (seed, offset) gives the same mask for f64; the next call gets other counters.
  RngStream again = before;
  std::vector<double> y64 = dropout(x.to(DType::f64), p, true, again).to_vector<double>();
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y64[i] != 0, y[i] != 0) << i;
  std::vector<float> next = dropout(x, p, true, s).to_vector<float>();
  EXPECT_NE(next, y);
}

TEST(Dropout, BackwardRegeneratesTheMask) {
  RngStream s = dropout_stream(3, 1);
  const RngStream before = s;
  const double p = 0.6;
  Tensor x = random_f64({5, 37}).to(DType::f32).requires_grad_();
  Tensor y = dropout(x, p, true, s);
  Tensor g = random_f64({5, 37}, -1, 1, 9).to(DType::f32);
  y.backward(g);
  std::vector<float> gx = x.grad().to_vector<float>(), gv = g.to_vector<float>();
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  for (size_t i = 0; i < gx.size(); ++i)
    ASSERT_EQ(gx[i], kept(3, before.offset, i, p) ? gv[i] * scale : 0.0f) << i;
}

TEST(Dropout, HalfWordsFollowTheDocumentedExample) {
  // kernels/common/dropout_desc.h: seed 5, offset 0, block 1 = (58e37bc0, 27fa600a, 930e368e,
  // 1e94611d) serves units 8 .. 15, low half first.
  const uint32_t want[8] = {0x7bc0, 0x58e3, 0x600a, 0x27fa, 0x368e, 0x930e, 0x611d, 0x1e94};
  for (uint64_t u = 8; u < 16; ++u) EXPECT_EQ(kernels::dropout_halfword(5, 0, u), want[u - 8]) << u;
  EXPECT_EQ(kernels::dropout_blocks(16), 2u);
  EXPECT_EQ(kernels::dropout_blocks(17), 3u);
}

TEST(Dropout, KeepTestIsExactAtTheThreshold) {
  // Unit u is kept for p = h(u) 2^-16 and dropped for the next double above it, by the
  // reference, v2 and v3 alike.
  const int64_t n = 300;
  kernels::DropoutDesc d;
  d.n = n;
  d.seed = 5;
  d.offset = 0;
  std::vector<float> x(n, 1.0f), y(n);
  for (int64_t u : {13, 6, 7, 299}) {
    const uint32_t word = kernels::philox_word(d.seed, d.offset, static_cast<uint64_t>(u / 2));
    const double at = static_cast<double>(u % 2 == 0 ? word & 0xFFFFu : word >> 16) / 65536.0;
    for (int above = 0; above < 2; ++above) {
      d.p = above ? std::nextafter(at, 1.0) : at;
      ref::dropout_forward<float>(d, x.data(), y.data());
      EXPECT_EQ(y[u] != 0, above == 0) << "reference, unit " << u;
      cpu::dropout_forward_v2<float>(d, x.data(), y.data(), 2);
      EXPECT_EQ(y[u] != 0, above == 0) << "v2, unit " << u;
      cpu::dropout_forward_v3<float>(d, x.data(), y.data(), 2);
      EXPECT_EQ(y[u] != 0, above == 0) << "v3, unit " << u;
    }
  }
}

TEST(Dropout, KeepFractionWithinStandardErrors) {
  const int64_t n = 200000;
  Tensor x = ones({n});
  for (double p : {0.1, 0.5, 0.9}) {
    RngStream s = dropout_stream(11, 0);
    std::vector<float> y = dropout(x, p, true, s).to_vector<float>();
    int64_t k = 0;
    for (float v : y) k += v != 0;
    const double frac = static_cast<double>(k) / n;
    EXPECT_NEAR(frac, 1 - p, 5 * std::sqrt(p * (1 - p) / n)) << "p = " << p;
  }
}

TEST(Dropout, MaskDoesNotDependOnChunking) {
  for (int64_t group : {1, 7}) {
    const int64_t n = 7 * 143;
    std::vector<double> x(n, 1.0), whole(n), parts(n);
    kernels::DropoutDesc d;
    d.n = n;
    d.group = group;
    d.p = 0.45;
    d.seed = 99;
    d.offset = (uint64_t{1} << 62) + 12345;
    ref::dropout_forward<double>(d, x.data(), whole.data());
    const int64_t split = 437;  // inside a channel for group 7
    kernels::DropoutDesc a = d, b = d;
    a.n = split;
    b.n = n - split;
    b.first = split;
    ref::dropout_forward<double>(a, x.data(), parts.data());
    ref::dropout_forward<double>(b, x.data() + split, parts.data() + split);
    EXPECT_EQ(whole, parts) << "group " << group;
    std::vector<uint8_t> mask(n);
    ref::dropout_mask(d, mask.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(mask[i] != 0, whole[i] != 0) << i;
  }
}

TEST(Dropout, ZeroOneAndEvaluation) {
  Tensor x = random_f64({4, 6});
  RngStream s = dropout_stream(1, 0);
  const uint64_t offset = s.offset;
  EXPECT_TRUE(dropout(x, 0.0, true, s).same(x));
  EXPECT_TRUE(dropout(x, 0.7, false, s).same(x));
  Tensor v = x.view({2, 2, 3, 2});
  EXPECT_TRUE(dropout2d(v, 0.7, false, s).same(v));
  EXPECT_EQ(s.offset, offset);
  EXPECT_EQ(dropout(x, 1.0, true, s).to_vector<double>(), std::vector<double>(24, 0.0));
  EXPECT_EQ(s.offset, offset + kernels::dropout_blocks(24));
}

// Checks that every (n, c) channel of y is either x * scale or zero, by the unit rule.
void expect_channels(const Tensor& x, const Tensor& y, int64_t channel, uint64_t seed,
                     uint64_t offset, double p) {
  std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  const double scale = 1.0 / (1.0 - p);
  int kept_channels = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    const bool keep = kept(seed, offset, i / channel, p);
    kept_channels += keep && i % channel == 0;
    ASSERT_EQ(yv[i], keep ? xv[i] * scale : 0.0) << i;
  }
  EXPECT_GT(kept_channels, 0);
  EXPECT_LT(static_cast<size_t>(kept_channels), xv.size() / channel);
}

TEST(Dropout, ChannelFormsDropWholeChannels) {
  RngStream s = dropout_stream(5, 2);
  Tensor x4 = random_f64({3, 5, 4, 2});
  uint64_t o = s.offset;
  expect_channels(x4, dropout2d(x4, 0.5, true, s), 8, 5, o, 0.5);
  EXPECT_EQ(s.offset, o + kernels::dropout_blocks(15));
  Tensor x3 = random_f64({6, 3, 3});
  o = s.offset;
  expect_channels(x3, dropout2d(x3, 0.5, true, s), 9, 5, o, 0.5);
  Tensor x5 = random_f64({2, 4, 2, 3, 2});
  o = s.offset;
  expect_channels(x5, dropout3d(x5, 0.4, true, s), 12, 5, o, 0.4);
  // A non-contiguous input is masked by its logical (row-major) index.
  Tensor xt = random_f64({4, 3, 2, 5}).transpose(2, 3);
  o = s.offset;
  expect_channels(xt.contiguous(), dropout2d(xt, 0.5, true, s), 10, 5, o, 0.5);
}

TEST(Dropout, ModulesFollowTrainingMode) {
  nn::Dropout d(0.5);
  nn::Dropout2d d2(0.5);
  nn::Dropout3d d3(0.5);
  Tensor x = random_f64({2, 3, 2, 2, 2});
  RngStream s = dropout_stream(8, 0);
  RngStream ref_stream = s;
  EXPECT_TRUE(d.training());
  EXPECT_EQ(d.forward(x, s).to_vector<double>(),
            dropout(x, 0.5, true, ref_stream).to_vector<double>());
  EXPECT_EQ(d3.forward(x, s).to_vector<double>(),
            dropout3d(x, 0.5, true, ref_stream).to_vector<double>());
  d.train(false);
  d2.train(false);
  EXPECT_TRUE(d.forward(x, s).same(x));
  Tensor v = x.view({6, 2, 2, 2});
  EXPECT_TRUE(d2.forward(v, s).same(v));
  EXPECT_EQ(s.offset, ref_stream.offset);
  EXPECT_EQ(d.named_parameters().size(), 0u);
}

TEST(Dropout, Errors) {
  RngStream s = dropout_stream(1, 0);
  expect_error([&] { dropout(zeros({3}), 1.5, true, s); }, {"dropout", "p must be in [0, 1]"});
  expect_error([&] { dropout2d(zeros({3, 4}), 0.5, true, s); }, {"dropout2d", "[3, 4]"});
  expect_error([&] { dropout3d(zeros({2, 3, 4}), 0.5, true, s); }, {"dropout3d", "[2, 3, 4]"});
  expect_error([&] { dropout(arange(4), 0.5, true, s); }, {"dropout", "i64"});
  expect_error([&] { nn::Dropout(-0.1); }, {"Dropout", "p must be"});
}

TEST(Dropout, GradcheckOnAFixedStream) {
  const RngStream fixed = dropout_stream(21, 4);
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) {
        RngStream s = fixed;
        return dropout(in[0], 0.4, true, s);
      },
      {random_f64({3, 7})}));
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) {
        RngStream s = fixed;
        return dropout2d(in[0], 0.5, true, s) * 2.0;
      },
      {random_f64({2, 3, 2, 2})}));
}

// x with a few non-finite values (a dropped inf or nan must give 0, as in the reference).
template <class T>
std::vector<T> inputs_with_specials(int64_t n) {
  std::vector<T> x =
      random_f64({n}, -3, 3, 17).to(sizeof(T) == 4 ? DType::f32 : DType::f64).to_vector<T>();
  if (n > 5) x[5] = std::numeric_limits<T>::infinity();
  if (n > 40) x[40] = std::numeric_limits<T>::quiet_NaN();
  return x;
}

// v2 and v3 against ref::dropout_forward, element by element in bits, for 1, 2 and 3 threads.
template <class T>
void expect_v2_matches_reference(const kernels::DropoutDesc& d) {
  std::vector<T> x = inputs_with_specials<T>(d.n), want(d.n), got(d.n);
  ref::dropout_forward<T>(d, x.data(), want.data());
  for (auto* kernel : {&cpu::dropout_forward_v2<T>, &cpu::dropout_forward_v3<T>})
    for (int threads : {1, 2, 3}) {
      std::fill(got.begin(), got.end(), T(7));
      kernel(d, x.data(), got.data(), threads);
      ASSERT_EQ(std::memcmp(want.data(), got.data(), sizeof(T) * want.size()), 0)
          << (kernel == &cpu::dropout_forward_v2<T> ? "v2" : "v3") << " n " << d.n << " first "
          << d.first << " group " << d.group << " p " << d.p << " threads " << threads;
    }
}

TEST(DropoutV2, BitIdenticalToReferenceForAnyThreadCount) {
  for (int64_t n : {1, 3, 31, 33, 1000, 4099}) {
    for (int64_t first : {0, 1, 29, 128, 1003}) {
      for (int64_t group : {1, 3, 7, 40}) {
        for (double p : {0.0, 0.3, 0.5, 0.9, 1.0}) {
          kernels::DropoutDesc d;
          d.n = n;
          d.first = first;
          d.group = group;
          d.p = p;
          d.seed = 0x123456789abcdefULL;
          d.offset = (uint64_t{1} << 40) + 77;
          expect_v2_matches_reference<float>(d);
          expect_v2_matches_reference<double>(d);
        }
      }
    }
  }
}

TEST(DropoutV2, ChunksGiveTheWholeMask) {
  kernels::DropoutDesc d;
  d.n = 5003;
  d.group = 5;
  d.p = 0.4;
  d.seed = 3;
  d.offset = 11;
  std::vector<float> x = inputs_with_specials<float>(d.n), whole(d.n), parts(d.n);
  cpu::dropout_forward_v2<float>(d, x.data(), whole.data(), 2);
  for (int64_t split : {1, 17, 2502, 5002}) {
    kernels::DropoutDesc a = d, b = d;
    a.n = split;
    b.first = split;
    b.n = d.n - split;
    cpu::dropout_forward_v2<float>(a, x.data(), parts.data(), 3);
    cpu::dropout_forward_v2<float>(b, x.data() + split, parts.data() + split, 1);
    ASSERT_EQ(std::memcmp(whole.data(), parts.data(), sizeof(float) * whole.size()), 0) << split;
    cpu::dropout_forward_v3<float>(a, x.data(), parts.data(), 2);
    cpu::dropout_forward_v3<float>(b, x.data() + split, parts.data() + split, 3);
    ASSERT_EQ(std::memcmp(whole.data(), parts.data(), sizeof(float) * whole.size()), 0) << split;
  }
}

TEST(DropoutV3, LargeOutputsStoredNonTemporallyMatchV2) {
  // 64 MiB of f32 output and more takes v3's non-temporal stores where y + (tile - first) is
  // 64-byte aligned (shift 0) and plain stores elsewhere (shift 1); v2 is checked against the
  // reference above. An odd start and size give partial tiles at both ends.
  kernels::DropoutDesc d;
  d.n = (int64_t{16} << 20) + 131;
  d.first = 5;
  d.p = 0.3;
  d.seed = 99;
  d.offset = 1234;
  std::vector<float> xbuf(d.n + 32), want(d.n), gbuf(d.n + 32);
  const auto align = [](float* p) {
    return p + (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64 / sizeof(float);
  };
  float* x = align(xbuf.data());
  for (int64_t i = 0; i < d.n; ++i) x[i] = static_cast<float>(i % 1000) - 500.0f;
  cpu::dropout_forward_v2<float>(d, x, want.data(), 2);
  for (int64_t shift : {0, 1})
    for (int threads : {1, 2}) {
      float* got = align(gbuf.data()) + d.first + shift;
      std::fill(gbuf.begin(), gbuf.end(), 7.0f);
      cpu::dropout_forward_v3<float>(d, x, got, threads);
      ASSERT_EQ(std::memcmp(want.data(), got, sizeof(float) * d.n), 0) << shift << " " << threads;
    }
}

TEST(DropoutV2, OpUsesV3ForF32AndTheBackwardRegeneratesItsMask) {
  RngStream s = dropout_stream(77, 3);
  const RngStream before = s;
  Tensor x = random_f64({9, 131}).to(DType::f32).requires_grad_();
  Tensor y = dropout(x, 0.5, true, s);
  kernels::DropoutDesc d;
  d.n = x.numel();
  d.p = 0.5;
  d.seed = before.seed;
  d.offset = before.offset;
  std::vector<float> xv = x.to_vector<float>(), want(d.n);
  ref::dropout_forward<float>(d, xv.data(), want.data());
  EXPECT_EQ(y.to_vector<float>(), want);
  Tensor g = random_f64({9, 131}, -1, 1, 5).to(DType::f32);
  y.backward(g);
  std::vector<float> gv = g.to_vector<float>(), gwant(d.n);
  ref::dropout_forward<float>(d, gv.data(), gwant.data());
  EXPECT_EQ(x.grad().to_vector<float>(), gwant);
  bool listed_first = false;
  for (const dispatch::OpBase* op : dispatch::OpBase::all())
    if (op->name() == "dropout") listed_first = op->impl_names().front() == "v3_simd";
  EXPECT_TRUE(listed_first);
}

}  // namespace
}  // namespace signet
