// nn::ConvLSTM: equal to the one-convolution-over-cat(x, h) formulation, shapes, errors, and
// float64 gradchecks through several steps (layers, peepholes, batch_first), and variable-length
// batches (padding has no influence, a sample equals its own run, gradcheck with lengths).
#include <gtest/gtest.h>

#include "engine/nn/conv_lstm.h"
#include "engine/ops.h"
#include "engine/ops/conv.h"
#include "engine/ops/join.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::expect_error;
using testing::gradcheck;
using testing::gradcheck_params;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

// Options of a tiny f64 ConvLSTM.
nn::ConvLstmOptions tiny(int64_t layers, bool peephole) {
  nn::ConvLstmOptions o;
  o.input_channels = 2;
  o.hidden_channels = 3;
  o.kernel_size = 3;
  o.num_layers = layers;
  o.peephole = peephole;
  o.dtype = DType::f64;
  return o;
}

TEST(ConvLstm, EqualsOneConvolutionOverConcatenatedInputAndState) {
  manual_seed(3);
  nn::ConvLSTM m(tiny(1, false));
  Tensor x = random_f64({4, 2, 2, 5, 6}, -1, 1, 4);
  auto [y, state] = m.forward(x);
  Tensor w = m.named_parameters()[0].second, b = m.named_parameters()[1].second;
  Tensor h = zeros({2, 3, 5, 6}, DType::f64), c = zeros({2, 3, 5, 6}, DType::f64);
  for (int64_t t = 0; t < 4; ++t) {
    Tensor g = conv2d(cat({x.narrow(0, t, 1).squeeze(0), h}, 1), w, b, {1}, {1});
    Tensor i = sigmoid(g.narrow(1, 0, 3)), f = sigmoid(g.narrow(1, 3, 3));
    Tensor o = sigmoid(g.narrow(1, 6, 3)), gg = tanh(g.narrow(1, 9, 3));
    c = f * c + i * gg;
    h = o * tanh(c);
    std::vector<double> got = y.narrow(0, t, 1).squeeze(0).to_vector<double>();
    std::vector<double> want = h.to_vector<double>();
    for (size_t k = 0; k < want.size(); ++k) ASSERT_NEAR(got[k], want[k], 1e-12) << t << " " << k;
  }
  std::vector<double> got = state.c[0].to_vector<double>(), want = c.to_vector<double>();
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-12) << k;
}

TEST(ConvLstm, ParameterNamesShapesAndErrors) {
  nn::ConvLstmOptions o = tiny(2, true);
  o.batch_first = true;
  nn::ConvLSTM m(o);
  auto named = m.named_parameters();
  ASSERT_EQ(named.size(), 10u);
  EXPECT_EQ(named[0].first, "cell_list.0.conv.weight");
  EXPECT_EQ(named[0].second.shape(), (Shape{12, 5, 3, 3}));
  EXPECT_EQ(named[2].first, "cell_list.0.w_ci");
  EXPECT_EQ(named[5].second.shape(), (Shape{12, 6, 3, 3}));
  auto [y, s] = m.forward(zeros({2, 4, 2, 5, 5}, DType::f64));
  EXPECT_EQ(y.shape(), (Shape{2, 4, 3, 5, 5}));
  EXPECT_EQ(s.h.size(), 2u);
  expect_error([&] { m.forward(zeros({2, 4, 7, 5, 5}, DType::f64)); }, {"7 channels", "expects 2"});
  o.kernel_size = 4;
  expect_error([&] { nn::ConvLSTM bad(o); }, {"odd"});
}

TEST(ConvLstmGrad, ThroughStepsLayersAndPeepholes) {
  for (bool peephole : {false, true}) {
    manual_seed(5);
    nn::ConvLSTM m(tiny(2, peephole));
    Tensor x = random_f64({3, 1, 2, 4, 3}, -1, 1, 6);
    if (peephole) {
      NoGradGuard g;
      uint64_t seed = 20;
      for (auto& [name, p] : m.named_parameters())
        if (name.find(".w_c") != std::string::npos)
          Tensor(p).copy_(random_f64({3, 1, 1}, -0.5, 0.5, ++seed));
    }
    EXPECT_TRUE(gradcheck([&](const Inputs& v) { return m.forward(v[0]).first; }, {x}));
    EXPECT_TRUE(gradcheck_params([&] { return m.forward(x).first; }, m.parameters()));
  }
}

TEST(ConvLstmGrad, PerPositionPeepholesAndLastState) {
  manual_seed(6);
  nn::ConvLstmOptions o = tiny(1, true);
  o.peephole_positions = {3, 2};
  o.batch_first = true;
  nn::ConvLSTM m(o);
  {
    NoGradGuard g;
    uint64_t seed = 30;
    for (auto& [name, p] : m.named_parameters())
      if (name.find(".w_c") != std::string::npos)
        Tensor(p).copy_(random_f64({3, 3, 2}, -0.5, 0.5, ++seed));
  }
  Tensor x = random_f64({2, 3, 2, 3, 2}, -1, 1, 7);
  EXPECT_TRUE(gradcheck_params([&] { return m.forward(x).second.c[0]; }, m.parameters()));
}

// Lengths {3, 0, 1} for a batch of 3 over T = 3: a full, an empty and a one-step sample.
Tensor three_lengths() {
  return from_vector<int64_t>({3, 0, 1});
}

// Padding has no influence on outputs, states or parameter gradients and gets no gradient, for
// the fused cell (no peepholes) or the composed one (peepholes).
void check_padding_has_no_influence(bool peephole) {
  manual_seed(8);
  nn::ConvLSTM m(tiny(2, peephole));
  if (peephole) {
    NoGradGuard g;
    uint64_t seed = 40;
    for (auto& [name, p] : m.named_parameters())
      if (name.find(".w_c") != std::string::npos)
        Tensor(p).copy_(random_f64({3, 1, 1}, -0.5, 0.5, ++seed));
  }
  const Tensor lengths = three_lengths();
  Tensor x1 = random_f64({3, 3, 2, 4, 3}, -1, 1, 9);
  Tensor x2 = x1.clone();
  {
    NoGradGuard g;  // different values in every padded frame: (t >= length) of samples 1 and 2
    x2.narrow(1, 1, 1).copy_(random_f64({3, 1, 2, 4, 3}, -3, 3, 10));
    x2.narrow(0, 1, 2).narrow(1, 2, 1).copy_(random_f64({2, 1, 2, 4, 3}, -3, 3, 11));
  }
  std::vector<std::vector<Tensor>> grads;
  std::vector<std::pair<Tensor, nn::ConvLstmState>> outs;
  for (Tensor x : {x1, x2}) {
    x.requires_grad_();
    m.zero_grad();
    auto r = m.forward(x, {}, lengths);
    sum(r.first * random_f64(r.first.shape(), -1, 1, 12) + r.second.h[1] + r.second.c[0])
        .backward();
    std::vector<Tensor> g{x.grad()};
    for (const Tensor& p : m.parameters()) g.push_back(p.grad().clone());
    grads.push_back(g);
    outs.push_back(r);
  }
  EXPECT_EQ(outs[0].first.to_vector<double>(), outs[1].first.to_vector<double>());
  for (int64_t l = 0; l < 2; ++l) {
    EXPECT_EQ(outs[0].second.h[l].to_vector<double>(), outs[1].second.h[l].to_vector<double>());
    EXPECT_EQ(outs[0].second.c[l].to_vector<double>(), outs[1].second.c[l].to_vector<double>());
  }
  for (size_t k = 1; k < grads[0].size(); ++k)
    EXPECT_EQ(grads[0][k].to_vector<double>(), grads[1][k].to_vector<double>()) << "param " << k;
  const Tensor y = outs[0].first, dx = grads[0][0];
  // outputs past each length are exactly 0; padded frames get exactly 0 gradient
  const std::vector<double> zeros_y(3 * 4 * 3, 0.0), zeros_x(2 * 4 * 3, 0.0);
  for (int64_t t = 0; t < 3; ++t) {
    for (int64_t b : {1, 2}) {
      if (b == 2 && t == 0) continue;
      EXPECT_EQ(y.narrow(0, t, 1).narrow(1, b, 1).contiguous().to_vector<double>(), zeros_y);
      EXPECT_EQ(dx.narrow(0, t, 1).narrow(1, b, 1).contiguous().to_vector<double>(), zeros_x);
    }
  }
  EXPECT_NE(dx.narrow(0, 0, 1).narrow(1, 2, 1).contiguous().to_vector<double>(), zeros_x);
}

TEST(ConvLstmLengths, PaddingHasNoInfluenceAndGetsNoGradient) {
  for (bool peephole : {false, true}) {
    SCOPED_TRACE(peephole ? "peephole" : "fused cell");
    check_padding_has_no_influence(peephole);
  }
}

TEST(ConvLstm, FloatFusedCellAgreesWithDouble) {
  manual_seed(11);
  nn::ConvLSTM m64(tiny(2, false));
  nn::ConvLstmOptions o = tiny(2, false);
  o.dtype = DType::f32;
  nn::ConvLSTM m32(o);
  {
    NoGradGuard g;
    auto p64 = m64.parameters(), p32 = m32.parameters();
    for (size_t k = 0; k < p64.size(); ++k) p32[k].copy_(p64[k]);
  }
  Tensor x = random_f64({4, 3, 2, 5, 4}, -1, 1, 17);
  const Tensor lengths = from_vector<int64_t>({4, 2, 3});
  auto [y64, s64] = m64.forward(x, {}, lengths);
  auto [y32, s32] = m32.forward(x.to(DType::f32), {}, lengths);
  // f32 rounding and the approximate activations (relative 2^-21 each) over 4 steps, 2 layers
  // (measured worst difference below 3e-7)
  testing::expect_close(y32.to(DType::f64), y64, 1e-6, "output");
  testing::expect_close(s32.c[1].to(DType::f64), s64.c[1], 1e-6, "last c");
}

// The f32 fast path (fused cell step, conv v3/v4 on 64 gate channels, x-path gates read in
// place) against f64 for the gradients of the input and every parameter, without and with
// lengths, and with peepholes: the forward test above cannot see a wrong backward.
TEST(ConvLstm, FloatFastPathGradientsAgreeWithDouble) {
  for (int variant = 0; variant < 3; ++variant) {
    const bool with_lengths = variant == 1, peephole = variant == 2;
    manual_seed(12);
    nn::ConvLstmOptions o = tiny(2, peephole);
    o.input_channels = 3;
    o.hidden_channels = 16;
    nn::ConvLSTM m64(o);
    o.dtype = DType::f32;
    nn::ConvLSTM m32(o);
    auto p64 = m64.parameters(), p32 = m32.parameters();
    {
      NoGradGuard g;
      for (size_t k = 0; k < p64.size(); ++k) p32[k].copy_(p64[k]);
    }
    const Tensor x64 = random_f64({5, 3, 3, 6, 7}, -1, 1, 19).requires_grad_(true);
    const Tensor x32 = x64.detach().to(DType::f32).requires_grad_(true);
    const Tensor r = random_f64({5, 3, 16, 6, 7}, -1, 1, 23);
    const Tensor lengths = with_lengths ? from_vector<int64_t>({5, 2, 4}) : Tensor();
    auto [y64, s64] = m64.forward(x64, {}, lengths);
    auto [y32, s32] = m32.forward(x32, {}, lengths);
    add(sum(mul(y64, r)), sum(s64.c[1])).backward();
    add(sum(mul(y32, r.to(DType::f32))), sum(s32.c[1])).backward();
    // f32 sums over at most 5 steps x 2 layers x (3 + 16) x 9 taps of O(1) terms: relative
    // rounding ~1e-6 of gradients of magnitude up to ~10 (measured worst below 2e-5)
    testing::expect_close(x32.grad().to(DType::f64), x64.grad(), 1e-4, "dx");
    for (size_t k = 0; k < p64.size(); ++k)
      testing::expect_close(p32[k].grad().to(DType::f64), p64[k].grad(), 1e-4,
                            "parameter " + std::to_string(k));
  }
}

TEST(ConvLstmLengths, EachSampleEqualsItsOwnRunAndEmptyKeepsTheState) {
  manual_seed(9);
  nn::ConvLstmOptions o = tiny(2, false);
  o.batch_first = true;
  nn::ConvLSTM m(o);
  Tensor x = random_f64({3, 3, 2, 4, 3}, -1, 1, 13);  // (N, T, C, H, W)
  nn::ConvLstmState s0;
  for (int64_t l = 0; l < 2; ++l) {
    s0.h.push_back(random_f64({3, 3, 4, 3}, -1, 1, 20 + l));
    s0.c.push_back(random_f64({3, 3, 4, 3}, -1, 1, 30 + l));
  }
  const std::vector<int64_t> lens{3, 0, 1};
  auto [y, s] = m.forward(x, s0, three_lengths());
  for (int64_t b = 0; b < 3; ++b) {
    SCOPED_TRACE("sample " + std::to_string(b));
    nn::ConvLstmState sb;
    for (int64_t l = 0; l < 2; ++l) {
      sb.h.push_back(s0.h[l].narrow(0, b, 1));
      sb.c.push_back(s0.c[l].narrow(0, b, 1));
    }
    if (lens[b] == 0) {
      for (int64_t l = 0; l < 2; ++l) {
        testing::expect_close(s.h[l].narrow(0, b, 1), sb.h[l], 0, "h of an empty sample");
        testing::expect_close(s.c[l].narrow(0, b, 1), sb.c[l], 0, "c of an empty sample");
      }
      continue;
    }
    auto [yb, sbo] = m.forward(x.narrow(0, b, 1).narrow(1, 0, lens[b]), sb);
    testing::expect_close(y.narrow(0, b, 1).narrow(1, 0, lens[b]), yb, 1e-13, "output");
    for (int64_t l = 0; l < 2; ++l) {
      testing::expect_close(s.h[l].narrow(0, b, 1), sbo.h[l], 1e-13, "h_n");
      testing::expect_close(s.c[l].narrow(0, b, 1), sbo.c[l], 1e-13, "c_n");
    }
  }
}

TEST(ConvLstmLengths, GradcheckThroughStepsLayersAndPeepholes) {
  // two layers without peepholes, one with: the inputs, initial states and every parameter
  for (bool peephole : {false, true}) {
    SCOPED_TRACE(peephole ? "peephole, 1 layer" : "plain, 2 layers");
    manual_seed(10);
    const int64_t layers = peephole ? 1 : 2;
    nn::ConvLSTM m(tiny(layers, peephole));
    if (peephole) {
      NoGradGuard g;
      uint64_t seed = 50;
      for (auto& [name, p] : m.named_parameters())
        if (name.find(".w_c") != std::string::npos)
          Tensor(p).copy_(random_f64({3, 1, 1}, -0.5, 0.5, ++seed));
    }
    const Tensor lengths = from_vector<int64_t>({2, 3, 1});
    Tensor x = random_f64({3, 3, 2, 2, 3}, -1, 1, 14);
    Tensor h0 = random_f64({3, 3, 2, 3}, -1, 1, 15), c0 = random_f64({3, 3, 2, 3}, -1, 1, 16);
    // the output sequence plus the first layer's last h and the last layer's last c
    auto all = [&](const Tensor& xi, const Tensor& h, const Tensor& c) {
      nn::ConvLstmState s0{std::vector<Tensor>(layers, h), std::vector<Tensor>(layers, c)};
      auto [y, s] = m.forward(xi, s0, lengths);
      return cat({y.reshape({-1}), s.h[0].reshape({-1}), s.c.back().reshape({-1})}, 0);
    };
    EXPECT_TRUE(gradcheck([&](const Inputs& v) { return all(v[0], v[1], v[2]); }, {x, h0, c0}));
    EXPECT_TRUE(gradcheck_params([&] { return all(x, h0, c0); }, m.parameters()));
  }
}

TEST(ConvLstmLengths, BadLengthsNameTheOpAndShapes) {
  nn::ConvLSTM m(tiny(1, false));
  Tensor x = zeros({3, 2, 2, 4, 4}, DType::f64);
  expect_error([&] { m.forward(x, {}, from_vector<int64_t>({3})); },
               {"ConvLSTM", "lengths", "[2]"});
  expect_error(
      [&] {
        m.forward(x, {}, from_vector<int64_t>({3, 4}));
      },
      {"ConvLSTM", "lengths[1] = 4", "[0, 3]"});
  expect_error([&] { m.forward(x, {}, from_vector<double>({3, 1})); }, {"ConvLSTM lengths"});
}

}  // namespace
}  // namespace signet
