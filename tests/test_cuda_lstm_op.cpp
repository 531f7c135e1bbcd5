// nn::LSTM on the cuda device (the packed-free v3 register GEMM and the fused cell kernel through
// the lstm dispatch entries) against the same module on the cpu: two layers, bidirectional,
// with and without per-sample lengths. Tolerances: outputs 2e-5 and gradients 1e-4 absolute on
// O(1) data: both sides are f32, but the cpu cell uses activations within 2^-21 relative and its
// GEMMs sum in another order; the gradients add up T * N = 12 such terms per weight through a
// recurrence of 4 steps (measured gaps are below a quarter of these bounds).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/lstm.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_close;
using testing::random_cpu;

// What one forward and backward of the module gave: outputs and every gradient, on the cpu.
struct Run {
  Tensor y, h, c, dx;
  std::vector<std::pair<std::string, Tensor>> dparams;
};

// Runs m on x (moved to device) with lengths (undefined: none), backward of a fixed random
// weighting of output, h_n and c_n; everything returned on the cpu.
Run run_lstm(nn::LSTM& m, const Tensor& x, const Tensor& lengths, Device device) {
  m.zero_grad();
  m.to(device);
  Tensor xd = x.to(device).detach();
  xd.requires_grad_();
  auto [y, st] = m.forward(xd, {}, lengths.defined() ? lengths.to(device) : Tensor());
  const Tensor gy = random_cpu(y.shape(), 7).to(device),
               gh = random_cpu(st.h.shape(), 8).to(device),
               gc = random_cpu(st.c.shape(), 9).to(device);
  add(add(sum(mul(y, gy)), sum(mul(st.h, gh))), sum(mul(st.c, gc))).backward();
  Run r{y.cpu(), st.h.cpu(), st.c.cpu(), xd.grad().cpu(), {}};
  for (const auto& [name, p] : m.named_parameters()) r.dparams.push_back({name, p.grad().cpu()});
  return r;
}

// The cuda run of a fresh module against the cpu run of the same weights.
void compare(const Tensor& lengths, const std::string& what) {
  nn::LstmOptions opt;
  opt.input_size = 5;
  opt.hidden_size = 7;
  opt.num_layers = 2;
  opt.bidirectional = true;
  nn::LSTM m(opt);
  const Tensor x = random_cpu({4, 3, 5}, 3);
  const Run want = run_lstm(m, x, lengths, Device::cpu());
  const Run got = run_lstm(m, x, lengths, Device::cuda(0));
  expect_close(got.y, want.y, 2e-5, what + " output");
  expect_close(got.h, want.h, 2e-5, what + " h_n");
  expect_close(got.c, want.c, 2e-5, what + " c_n");
  expect_close(got.dx, want.dx, 1e-4, what + " dx");
  ASSERT_EQ(got.dparams.size(), want.dparams.size());
  for (size_t i = 0; i < got.dparams.size(); ++i)
    expect_close(got.dparams[i].second, want.dparams[i].second, 1e-4,
                 what + " d" + got.dparams[i].first);
}

TEST(CudaLstmOp, TwoLayerBidirectionalMatchesCpu) {
  compare(Tensor(), "full length");
}

TEST(CudaLstmOp, VariableLengthsMatchCpuAndPaddingStaysZero) {
  const Tensor lengths = from_vector(std::vector<int64_t>{4, 2, 3}, {3});
  compare(lengths, "lengths 4,2,3");
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

}  // namespace
}  // namespace signet
