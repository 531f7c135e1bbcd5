// nn::LSTM on the cuda device (the packed-free v3 register GEMM and the fused cell kernel through
// the lstm dispatch entries) against the same module on the cpu: two layers, bidirectional,
// with and without per-sample lengths, and both dropout modes drawn from the same dropout stream
// (the masks must be the cpu's bit for bit: the dropped inputs get exactly zero gradient on both).
// Tolerances: outputs 2e-5 and gradients 1e-4 absolute on O(1) data: both sides are f32, but the
// cpu cell uses activations within 2^-21 relative and its GEMMs sum in another order; the
// gradients add up T * N = 12 such terms per weight through a recurrence of 4 steps (measured gaps
// are below a quarter of these bounds). With dropout p the kept values are scaled by 1 / (1 - p)
// <= 2.5 (p = 0.6), so the bounds are scaled by 2.5.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/lstm.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_close;
using testing::random_cpu;

// What one forward and backward of the module gave: outputs and every gradient, on the cpu.
struct LstmRun {
  Tensor y, h, c, dx;
  std::vector<std::pair<std::string, Tensor>> dparams;
};

// Runs m on x (moved to device) with lengths (undefined: none) and the dropout stream of step 0
// of seed, backward of a fixed random weighting of output, h_n and c_n; everything returned on
// the cpu.
LstmRun run_lstm(nn::LSTM& m, const Tensor& x, const Tensor& lengths, Device device,
                 uint64_t seed = 0) {
  m.zero_grad();
  m.to(device);
  Tensor xd = x.to(device).detach();
  xd.requires_grad_();
  RngStream rng = dropout_stream(seed, 0);
  auto [y, st] = m.forward(xd, {}, lengths.defined() ? lengths.to(device) : Tensor(), &rng);
  const Tensor gy = random_cpu(y.shape(), 7).to(device),
               gh = random_cpu(st.h.shape(), 8).to(device),
               gc = random_cpu(st.c.shape(), 9).to(device);
  add(add(sum(mul(y, gy)), sum(mul(st.h, gh))), sum(mul(st.c, gc))).backward();
  LstmRun r{y.cpu(), st.h.cpu(), st.c.cpu(), xd.grad().cpu(), {}};
  for (const auto& [name, p] : m.named_parameters()) r.dparams.push_back({name, p.grad().cpu()});
  return r;
}

// Two layers, bidirectional, input 5, hidden 7, with the given dropout probabilities.
nn::LstmOptions two_layers(double dropout = 0, double input_dropout = 0) {
  nn::LstmOptions opt;
  opt.input_size = 5;
  opt.hidden_size = 7;
  opt.num_layers = 2;
  opt.bidirectional = true;
  opt.dropout = dropout;
  opt.input_dropout = input_dropout;
  return opt;
}

// The cuda run of m against the cpu run of the same weights and dropout seed on a fixed x
// (4, 3, 5), within tol (outputs) and 5 tol (gradients); returns both runs.
std::pair<LstmRun, LstmRun> compare(nn::LSTM& m, const Tensor& lengths, const std::string& what,
                                    double tol = 2e-5, uint64_t seed = 0) {
  const Tensor x = random_cpu({4, 3, 5}, 3);
  const LstmRun want = run_lstm(m, x, lengths, Device::cpu(), seed);
  const LstmRun got = run_lstm(m, x, lengths, Device::cuda(0), seed);
  expect_close(got.y, want.y, tol, what + " output");
  expect_close(got.h, want.h, tol, what + " h_n");
  expect_close(got.c, want.c, tol, what + " c_n");
  expect_close(got.dx, want.dx, 5 * tol, what + " dx");
  EXPECT_EQ(got.dparams.size(), want.dparams.size());
  for (size_t i = 0; i < got.dparams.size() && i < want.dparams.size(); ++i)
    expect_close(got.dparams[i].second, want.dparams[i].second, 5 * tol,
                 what + " d" + got.dparams[i].first);
  return {want, got};
}

// The positions of exact zeros in t.
std::vector<bool> zeros_of(const Tensor& t) {
  std::vector<bool> z;
  for (float v : t.contiguous().to_vector<float>()) z.push_back(v == 0.0f);
  return z;
}

// The largest |a - b| over two cpu f32 tensors of one shape.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.contiguous().to_vector<float>(),
                           y = b.contiguous().to_vector<float>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(double(x[i]) - y[i]));
  return m;
}

TEST(CudaLstmOp, TwoLayerBidirectionalMatchesCpu) {
  nn::LSTM m(two_layers());
  compare(m, Tensor(), "full length");
}

// A loss on the top layer's h_n alone (as feature_lstm's classifier with lengths uses it): the
// gradient reaches both layers as on the cpu (it was dropped on cuda by a slice backward that
// made its zeros on the cpu).
TEST(CudaLstmOp, GradientOfTheTopLayersLastStateAloneMatchesCpu) {
  nn::LstmOptions opt = two_layers();
  opt.bidirectional = false;
  opt.batch_first = true;
  nn::LSTM m(opt);
  const Tensor x = random_cpu({3, 4, 5}, 11);
  const Tensor lengths = from_vector(std::vector<int64_t>{4, 2, 3}, {3});
  std::vector<Tensor> grads[2];
  for (int d = 0; d < 2; ++d) {
    const Device device = d ? Device::cuda(0) : Device::cpu();
    m.to(device);
    m.zero_grad();
    RngStream rng = dropout_stream(0, 0);
    const Tensor h_n = m.forward(x.to(device), {}, lengths, &rng).second.h;
    const Tensor top = h_n.narrow(0, 1, 1).squeeze(0);
    sum(mul(top, top)).backward();
    for (const auto& [name, p] : m.named_parameters()) grads[d].push_back(p.grad().cpu().clone());
  }
  const auto names = m.named_parameters();
  for (size_t i = 0; i < names.size(); ++i)
    expect_close(grads[1][i], grads[0][i], 1e-4, "d" + names[i].first);
}

TEST(CudaLstmOp, VariableLengthsMatchCpuAndPaddingStaysZero) {
  const Tensor lengths = from_vector(std::vector<int64_t>{4, 2, 3}, {3});
  nn::LSTM two(two_layers());
  compare(two, lengths, "lengths 4,2,3");
  nn::LstmOptions opt;
  opt.input_size = 5;
  opt.hidden_size = 7;
  nn::LSTM m(opt);
  m.to(Device::cuda(0));
  const Tensor y = m.forward(random_cpu({4, 3, 5}, 4).cuda(), {}, lengths.cuda()).first.cpu();
  const std::vector<float> v = y.contiguous().to_vector<float>();
  for (int64_t t = 2; t < 4; ++t)
    for (int64_t j = 0; j < 7; ++j)
      EXPECT_EQ(v[size_t((t * 3 + 1) * 7 + j)], 0.0f) << t << " " << j;
}

TEST(CudaLstmOp, DropoutBetweenLayersDrawsTheCpuMask) {
  const Tensor lengths = from_vector(std::vector<int64_t>{4, 2, 3}, {3});
  nn::LSTM m(two_layers(0.6));
  for (uint64_t seed : {1u, 2u}) {
    const LstmRun cpu = compare(m, lengths, "dropout 0.6", 5e-5, seed).first;
    // Positive control: the mask acts (evaluation mode, no dropout, gives another output).
    m.train(false);
    const LstmRun plain = run_lstm(m, random_cpu({4, 3, 5}, 3), lengths, Device::cpu());
    m.train(true);
    EXPECT_GT(max_abs_diff(cpu.y, plain.y), 1e-3) << "seed " << seed;
  }
}

TEST(CudaLstmOp, KerasInputDropoutDrawsTheCpuMaskSharedByEveryStep) {
  const Tensor lengths = from_vector(std::vector<int64_t>{4, 1, 3}, {3});
  nn::LSTM m(two_layers(0, 0.5));
  const auto [cpu, cuda] = compare(m, lengths, "input dropout 0.5", 4e-5, 3);
  // Dropped inputs get exactly zero gradient, on the same (n, i) on both devices, and at every
  // step where the sample still runs (samples 0 and 2 at step 2; x is (T 4, N 3, I 5)).
  const std::vector<bool> want = zeros_of(cpu.dx), got = zeros_of(cuda.dx);
  EXPECT_EQ(got, want);
  int dropped = 0;
  for (size_t j = 0; j < 15; ++j) dropped += want[j];
  for (size_t n : {0u, 2u})
    for (size_t i = 0; i < 5; ++i)
      EXPECT_EQ(want[(2 * 3 + n) * 5 + i], want[n * 5 + i]) << "n " << n << " i " << i;
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 15);
}

TEST(CudaLstmOp, DropoutStreamAdvancesAsOnTheCpu) {
  nn::LSTM m(two_layers(0.3, 0.2));
  const Tensor x = random_cpu({4, 3, 5}, 5);
  RngStream a = dropout_stream(9, 4), b = dropout_stream(9, 4);
  m.forward(x, {}, Tensor(), &a);
  m.to(Device::cuda(0));
  m.forward(x.cuda(), {}, Tensor(), &b);
  EXPECT_EQ(b.offset, a.offset);
  EXPECT_GT(a.offset, dropout_stream(9, 4).offset);
}

}  // namespace
}  // namespace signet
