// nn::ConvLSTM: equal to the one-convolution-over-cat(x, h) formulation, shapes, errors, and
// float64 gradchecks through several steps (layers, peepholes, batch_first).
#include <gtest/gtest.h>

#include "engine/nn/conv_lstm.h"
#include "engine/ops.h"
#include "engine/ops/conv.h"
#include "engine/random.h"
#include "tests/support/expect_error.h"
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

}  // namespace
}  // namespace signet
