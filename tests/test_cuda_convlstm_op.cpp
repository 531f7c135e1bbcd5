// nn::ConvLSTM on the cuda device (conv_lstm_layer: the fused v3 kernels of
// kernels/cuda/convlstm_fused.h) against the same module on the cpu: outputs, every layer's last
// state and every gradient (input, conv weights and biases, peepholes), two layers, with and
// without peepholes (per channel and per position), with variable lengths; and the op's argument
// errors. Tolerances as tests/test_cuda_convlstm.cpp derives them: 2e-5 (1 + |ref|) on outputs and
// states, 2e-4 (1 + |ref|) on gradients (f32 on both sides, other summation orders).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/conv_lstm.h"
#include "engine/ops.h"
#include "engine/ops/conv_lstm.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/expect_error.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_error;
using testing::random_cpu;

// Expects |got - want| <= tol (1 + |want|) everywhere (both cpu tensors).
void expect_near(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<float> g = got.contiguous().to_vector<float>();
  const std::vector<float> w = want.contiguous().to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_LE(std::fabs(double(g[i]) - w[i]), tol * (1 + std::fabs(double(w[i]))))
        << what << " element " << i << ": " << g[i] << " vs " << w[i];
}

// What one forward and backward gave, on the cpu.
struct ConvLstmRun {
  Tensor y, dx;
  std::vector<Tensor> h, c;
  std::vector<std::pair<std::string, Tensor>> dparams;
};

// Runs m on x (moved to device) with lengths (undefined: none), backward of a fixed random
// weighting of the output and every layer's last (h, c).
ConvLstmRun run(nn::ConvLSTM& m, const Tensor& x, const Tensor& lengths, Device device) {
  m.zero_grad();
  m.to(device);
  Tensor xd = x.to(device).detach();
  xd.requires_grad_();
  auto [y, st] = m.forward(xd, {}, lengths);
  Tensor loss = sum(mul(y, random_cpu(y.shape(), 7).to(device)));
  for (size_t l = 0; l < st.h.size(); ++l)
    loss = add(add(loss, sum(mul(st.h[l], random_cpu(st.h[l].shape(), 8 + l).to(device)))),
               sum(mul(st.c[l], random_cpu(st.c[l].shape(), 20 + l).to(device))));
  loss.backward();
  ConvLstmRun r{y.cpu(), xd.grad().cpu(), {}, {}, {}};
  for (size_t l = 0; l < st.h.size(); ++l) {
    r.h.push_back(st.h[l].cpu());
    r.c.push_back(st.c[l].cpu());
  }
  for (const auto& [name, p] : m.named_parameters())
    r.dparams.push_back({name, p.grad().cpu().clone()});
  return r;
}

// A two-layer module (3 -> 5 channels, 5x6 maps) with the given peepholes (0 none, 1 per
// channel, 2 per position; random values) on the cuda device against the cpu.
void compare(int peephole, const Tensor& lengths, const std::string& what) {
  nn::ConvLstmOptions opt;
  opt.input_channels = 3;
  opt.hidden_channels = 5;
  opt.num_layers = 2;
  opt.peephole = peephole != 0;
  if (peephole == 2) opt.peephole_positions = {5, 6};
  nn::ConvLSTM m(opt);
  unsigned seed = 40;
  for (auto& [name, p] : m.named_parameters())
    if (name.find(".w_c") != std::string::npos) {
      NoGradGuard no_grad;
      p.copy_(random_cpu(p.shape(), seed++, 0.5));
    }
  const Tensor x = random_cpu({4, 3, 3, 5, 6}, 3);
  const ConvLstmRun want = run(m, x, lengths, Device::cpu());
  const ConvLstmRun got = run(m, x, lengths.defined() ? lengths : Tensor(), Device::cuda(0));
  expect_near(got.y, want.y, 2e-5, what + " output");
  for (size_t l = 0; l < want.h.size(); ++l) {
    expect_near(got.h[l], want.h[l], 2e-5, what + " h_n " + std::to_string(l));
    expect_near(got.c[l], want.c[l], 2e-5, what + " c_n " + std::to_string(l));
  }
  expect_near(got.dx, want.dx, 2e-4, what + " dx");
  ASSERT_EQ(got.dparams.size(), want.dparams.size());
  for (size_t i = 0; i < got.dparams.size(); ++i)
    expect_near(got.dparams[i].second, want.dparams[i].second, 2e-4,
                what + " d" + got.dparams[i].first);
}

TEST(CudaConvLstmOp, TwoLayersMatchCpu) {
  compare(0, Tensor(), "no peepholes");
}

TEST(CudaConvLstmOp, PerChannelPeepholesWithLengthsMatchCpu) {
  compare(1, from_vector(std::vector<int64_t>{4, 1, 3}, {3}), "per channel, lengths 4,1,3");
}

TEST(CudaConvLstmOp, PerPositionPeepholesWithLengthsMatchCpu) {
  compare(2, from_vector(std::vector<int64_t>{2, 4, 0}, {3}), "per position, lengths 2,4,0");
}

TEST(CudaConvLstmOp, BadArgumentsNameTheOp) {
  const Tensor x = random_cpu({2, 1, 3, 4, 4}, 1).cuda();
  ConvLstmLayerWeights w{random_cpu({8, 3, 3, 3}, 2).cuda(),
                         random_cpu({8, 2, 3, 3}, 3).cuda(),
                         random_cpu({8}, 4).cuda(),
                         Tensor(),
                         Tensor(),
                         Tensor()};
  expect_error([&] { conv_lstm_layer(x.cpu(), w); }, {"conv_lstm_layer", "cuda"});
  ConvLstmLayerWeights bad = w;
  bad.w_x = random_cpu({8, 2, 3, 3}, 5).cuda();
  expect_error([&] { conv_lstm_layer(x, bad); }, {"conv_lstm_layer", "w_x", "[8, 2, 3, 3]"});
  bad = w;
  bad.ci = random_cpu({2}, 6).cuda();
  expect_error([&] { conv_lstm_layer(x, bad); }, {"conv_lstm_layer", "peepholes"});
  expect_error([&] { conv_lstm_layer(x, w, Tensor(), Tensor(), from_vector<int64_t>({3})); },
               {"conv_lstm_layer", "length"});
}

}  // namespace
}  // namespace signet
