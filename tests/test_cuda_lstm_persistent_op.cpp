// The "lstm_steps" dispatch entry on the cuda device: lstm_layer with v2_cuda_persistent (the
// persistent kernel, kernels/cuda/lstm_persistent.h) or v1_cuda_steps (per step the GEMM and the
// cell kernel) forced, against the same layer on the cpu, forward and every gradient, on odd sizes
// (batch 1, 3, 7; hidden 5, 33, 67; input 3, 19; T 1, 4, 9), with and without lengths, both
// directions; the selection rule (small batches that fit take the persistent kernel, others the
// per-step v1_cuda_steps) and the error of a forced version that does not fit. Tolerances as
// tests/test_cuda_lstm_op.cpp states them: outputs 2e-5 and gradients 1e-4 absolute on O(1) data
// (both sides f32; the cpu cell's activations are within 2^-21 relative and its GEMMs sum in
// another order). A stale h_{t-1} errs by ~1e-2 or more.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_close;
using testing::random_cpu;

// Sets an environment variable for the scope of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

// One case: sizes, lengths (empty: none) and direction.
struct Case {
  int64_t t, n, i, h;
  std::vector<int64_t> lengths;
  bool reverse;
};

const Case kCases[] = {
    {4, 3, 19, 33, {}, false},       {9, 7, 3, 5, {9, 3, 0, 9, 1, 5, 7}, true},
    {1, 1, 3, 67, {}, false},        {4, 7, 19, 67, {4, 1, 2, 4, 3, 0, 2}, false},
    {9, 1, 19, 5, {}, true},         {4, 3, 3, 33, {4, 2, 3}, true},
    {1, 3, 19, 5, {1, 0, 1}, false},
};

// What one forward and backward of lstm_layer gave, on the cpu: outputs, then the gradients of
// x, w_ih, w_hh, b_ih, b_hh, h0 and c0.
struct LayerRun {
  std::vector<Tensor> out, grads;
};

// Runs lstm_layer for case c on device (inputs made on the cpu from fixed seeds), backward of a
// fixed random weighting of output, h_n and c_n.
LayerRun run_layer(const Case& c, Device device) {
  const float k = 1.0f / std::sqrt(float(c.h));
  std::vector<Tensor> leaves{random_cpu({c.t, c.n, c.i}, 11),   random_cpu({4 * c.h, c.i}, 12, k),
                             random_cpu({4 * c.h, c.h}, 13, k), random_cpu({4 * c.h}, 14, k),
                             random_cpu({4 * c.h}, 15, k),      random_cpu({c.n, c.h}, 16),
                             random_cpu({c.n, c.h}, 17)};
  for (Tensor& t : leaves) {
    t = t.to(device).detach();
    t.requires_grad_();
  }
  const Tensor lengths = c.lengths.empty() ? Tensor() : from_vector(c.lengths, {c.n}).to(device);
  const LstmLayerResult r = lstm_layer(leaves[0], {leaves[1], leaves[2], leaves[3], leaves[4]},
                                       leaves[5], leaves[6], lengths, c.reverse);
  const Tensor gy = random_cpu(r.output.shape(), 7).to(device),
               gh = random_cpu(r.h_n.shape(), 8).to(device),
               gc = random_cpu(r.c_n.shape(), 9).to(device);
  add(add(sum(mul(r.output, gy)), sum(mul(r.h_n, gh))), sum(mul(r.c_n, gc))).backward();
  LayerRun run{{r.output.cpu(), r.h_n.cpu(), r.c_n.cpu()}, {}};
  for (const Tensor& t : leaves) run.grads.push_back(t.grad().cpu());
  return run;
}

// Each cuda version of "lstm_steps", forced.
class CudaLstmStepsForced : public ::testing::TestWithParam<const char*> {};

TEST_P(CudaLstmStepsForced, MatchesCpu) {
  const char* names[] = {"output", "h_n", "c_n"};
  const char* grads[] = {"dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0", "dc0"};
  for (const Case& c : kCases) {
    const std::string what = "T " + std::to_string(c.t) + " N " + std::to_string(c.n) + " I " +
                             std::to_string(c.i) + " H " + std::to_string(c.h) + " reverse " +
                             std::to_string(c.reverse) + " lengths " +
                             std::to_string(!c.lengths.empty()) + ": ";
    const LayerRun want = run_layer(c, Device::cpu());
    const ScopedEnv force("SIGNET_IMPL_lstm_steps", GetParam());
    const LayerRun got = run_layer(c, Device::cuda(0));
    for (size_t i = 0; i < 3; ++i) expect_close(got.out[i], want.out[i], 2e-5, what + names[i]);
    for (size_t i = 0; i < 7; ++i) expect_close(got.grads[i], want.grads[i], 1e-4, what + grads[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, CudaLstmStepsForced,
                         ::testing::Values("v2_cuda_persistent", "v1_cuda_steps"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// With the step GEMM forced to a cpu-only version, a cuda layer runs only if its steps never
// select that GEMM: the persistent kernel ran (batch 32 and under), the per-step path threw.
TEST(CudaLstmPersistentOp, RuleTakesSmallBatchesOnly) {
  const ScopedEnv force("SIGNET_IMPL_lstm_step_gemm", "v2_packed");
  const NoGradGuard no_grad;
  for (int64_t n : {1, 32}) {
    const Tensor x = random_cpu({3, n, 4}, 21).cuda();
    const LstmLayerResult r = lstm_layer(
        x, {random_cpu({24, 4}, 22).cuda(), random_cpu({24, 6}, 23).cuda(), Tensor(), Tensor()});
    EXPECT_EQ(r.output.shape(), (Shape{3, n, 6}));
  }
  const Tensor x = random_cpu({3, 33, 4}, 24).cuda();
  testing::expect_error(
      [&] {
        lstm_layer(x, {random_cpu({24, 4}, 22).cuda(), random_cpu({24, 6}, 23).cuda(), Tensor(),
                       Tensor()});
      },
      {"lstm_step_gemm"});
}

TEST(CudaLstmPersistentOp, ForcedPersistentRefusesLargeBatchNamingShapes) {
  const ScopedEnv force("SIGNET_IMPL_lstm_steps", "v2_cuda_persistent");
  const Tensor x = random_cpu({2, 33, 4}, 25).cuda();
  testing::expect_error(
      [&] {
        lstm_layer(x, {random_cpu({20, 4}, 26).cuda(), random_cpu({20, 5}, 27).cuda(), Tensor(),
                       Tensor()});
      },
      {"v2_cuda_persistent does not take batch 33 with hidden 5", "lstm_steps"});
}

}  // namespace
}  // namespace signet
