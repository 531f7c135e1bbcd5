// The fast LSTM kernels against their reference twins: the approximate sigmoid/tanh of
// kernels/cpu/lstm_cell.h against double libm within the stated bound, the v2 fused cell forward
// and backward against ref::lstm_cell_* on odd sizes (every supported SIMD path, with padding
// rows) with tolerances derived from that bound, the forced "lstm_gemm" / "lstm_cell" versions
// of an f32 LSTM agreeing with the reference ones, lstm_cell_step (gradcheck, errors), and the
// two-input cell (ConvLSTM's x-path + h-path gates): bitwise the one-input cell on their sum, and
// lstm_cell_step_sum's gradcheck.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "engine/nn/lstm.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/ops/lstm.h"
#include "engine/ops/matmul.h"
#include "engine/ops/reduce.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/lstm_cell.h"
#include "kernels/reference/lstm.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using cpu::kLstmActivationMaxRelError;
using cpu::SimdPath;
using testing::random_f64;

constexpr double kEps = kLstmActivationMaxRelError;

// The SIMD paths of the cell kernels this CPU can run (portable always).
std::vector<SimdPath> paths() {
  std::vector<SimdPath> out{SimdPath::portable};
  if (cpu::simd_path_supported(SimdPath::avx512)) out.push_back(SimdPath::avx512);
  return out;
}

// A dense grid over [-100, 100] (finer near 0) plus tiny values and the ends of the clamp.
std::vector<float> activation_inputs() {
  std::vector<float> x;
  for (int k = -200000; k <= 200000; ++k) x.push_back(static_cast<float>(k) * 5e-4f);
  for (int k = -20000; k <= 20000; ++k) x.push_back(static_cast<float>(k) * 5e-3f);
  for (float t = 1e-30f; t < 1.0f; t *= 1.7f) {
    x.push_back(t);
    x.push_back(-t);
  }
  for (float t : {0.0f, -0.0f, 0.625f, -0.625f, 0.6249999f, 85.0f, -85.0f, 86.0f, 88.0f, 44.0f})
    x.push_back(t);
  return x;
}

// Relative error of got against want (want != 0) or absolute (want == 0).
double rel_error(double got, double want) {
  return want == 0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want);
}

TEST(LstmActivations, SigmoidWithinTheStatedBound) {
  const std::vector<float> x = activation_inputs();
  for (SimdPath path : paths()) {
    SCOPED_TRACE(cpu::simd_path_name(path));
    std::vector<float> y(x.size());
    cpu::lstm_sigmoid(x.data(), y.data(), static_cast<int64_t>(x.size()), path);
    double worst = 0;
    for (size_t k = 0; k < x.size(); ++k) {
      const double want = 1.0 / (1.0 + std::exp(-static_cast<double>(x[k])));
      if (x[k] >= -85.0f) {
        worst = std::max(worst, rel_error(y[k], want));
      } else {
        ASSERT_LT(std::fabs(y[k] - want), 1e-37) << x[k];
      }
    }
    EXPECT_LE(worst, kEps);
    EXPECT_GT(worst, 0.0);
  }
}

TEST(LstmActivations, TanhWithinTheStatedBound) {
  const std::vector<float> x = activation_inputs();
  for (SimdPath path : paths()) {
    SCOPED_TRACE(cpu::simd_path_name(path));
    std::vector<float> y(x.size());
    cpu::lstm_tanh(x.data(), y.data(), static_cast<int64_t>(x.size()), path);
    double worst = 0;
    for (size_t k = 0; k < x.size(); ++k)
      worst = std::max(worst, rel_error(y[k], std::tanh(static_cast<double>(x[k]))));
    EXPECT_LE(worst, kEps);
    EXPECT_GT(worst, 0.0);
  }
}

TEST(LstmActivations, InfinitiesSaturateAndNanPropagates) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x{inf, -inf, nan, -nan, 1e30f, -1e30f};
  for (SimdPath path : paths()) {
    SCOPED_TRACE(cpu::simd_path_name(path));
    std::vector<float> s(x.size()), t(x.size());
    cpu::lstm_sigmoid(x.data(), s.data(), static_cast<int64_t>(x.size()), path);
    cpu::lstm_tanh(x.data(), t.data(), static_cast<int64_t>(x.size()), path);
    EXPECT_EQ(s[0], 1.0f);
    EXPECT_LT(s[1], 1e-37f);
    EXPECT_GE(s[1], 0.0f);
    EXPECT_EQ(t[0], 1.0f);
    EXPECT_EQ(t[1], -1.0f);
    EXPECT_TRUE(std::isnan(s[2]) && std::isnan(s[3]) && std::isnan(t[2]) && std::isnan(t[3]));
    EXPECT_EQ(s[4], 1.0f);
    EXPECT_EQ(t[4], 1.0f);
    EXPECT_EQ(t[5], -1.0f);
  }
}

TEST(LstmActivations, AvxAndPortablePathsAreBitwiseIdentical) {
  if (!cpu::simd_path_supported(SimdPath::avx512)) GTEST_SKIP() << "no AVX-512 on this CPU";
  const std::vector<float> x = activation_inputs();
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> a(x.size()), b(x.size());
  cpu::lstm_sigmoid(x.data(), a.data(), n, SimdPath::portable);
  cpu::lstm_sigmoid(x.data(), b.data(), n, SimdPath::avx512);
  EXPECT_EQ(a, b);
  cpu::lstm_tanh(x.data(), a.data(), n, SimdPath::portable);
  cpu::lstm_tanh(x.data(), b.data(), n, SimdPath::avx512);
  EXPECT_EQ(a, b);
}

// f32 values of an f64 tensor.
std::vector<float> floats(const Tensor& t) {
  return t.to(DType::f32).to_vector<float>();
}

// One cell problem: random gates, states and gradients of N rows x H units at step 1, the rows
// with lengths[b] <= 1 inactive.
struct CellCase {
  int64_t N, H;
  std::vector<int64_t> lengths;
  std::vector<float> gates, c_prev, h_prev, dh, dc, dy;

  CellCase(int64_t n, int64_t h, uint64_t seed) : N(n), H(h) {
    for (int64_t b = 0; b < N; ++b) lengths.push_back(b % 3 == 1 ? 1 : 2);
    gates = floats(random_f64({N, 4 * H}, -5, 5, seed));
    c_prev = floats(random_f64({N, H}, -2, 2, seed + 1));
    h_prev = floats(random_f64({N, H}, -1, 1, seed + 2));
    dh = floats(random_f64({N, H}, -1, 1, seed + 3));
    dc = floats(random_f64({N, H}, -1, 1, seed + 4));
    dy = floats(random_f64({N, H}, -1, 1, seed + 5));
  }
};

// The sizes the cell tests run: tiny, below one vector, a full vector plus a tail, several.
const std::vector<std::pair<int64_t, int64_t>> kCellSizes{{1, 1},  {3, 7},  {5, 17},
                                                          {4, 50}, {7, 64}, {33, 129}};

TEST(LstmCellV2, ForwardMatchesReferenceWithinTheActivationBound) {
  uint64_t seed = 100;
  for (SimdPath path : paths()) {
    for (auto [N, H] : kCellSizes) {
      for (bool alias : {false, true}) {
        SCOPED_TRACE(std::string(cpu::simd_path_name(path)) + " N=" + std::to_string(N) +
                     " H=" + std::to_string(H) + (alias ? " act aliases gates" : ""));
        CellCase k(N, H, seed += 10);
        const kernels::LstmCellDesc d{N, H, 1};
        std::vector<float> act_r(4 * N * H), c_r(N * H), h_r(N * H), y_r(N * H);
        ref::lstm_cell_forward<float>(d, k.lengths.data(), k.gates.data(), k.c_prev.data(),
                                      k.h_prev.data(), act_r.data(), c_r.data(), h_r.data(),
                                      y_r.data());
        std::vector<float> gates = k.gates, act(4 * N * H, -7.0f), c(N * H), h(N * H),
                           y(N * H, -7.0f);
        float* act_out = alias ? gates.data() : act.data();
        cpu::lstm_cell_forward_v2(d, k.lengths.data(), gates.data(), k.c_prev.data(),
                                  k.h_prev.data(), act_out, c.data(), h.data(), y.data(), 2, path);
        for (int64_t b = 0; b < N; ++b) {
          const bool active = k.lengths[b] > 1;
          for (int64_t j = 0; j < H; ++j) {
            const int64_t e = b * H + j;
            const float* s = act_r.data() + b * 4 * H;
            for (int64_t q = 0; q < 4; ++q) {
              const double want = s[q * H + j], got = act_out[b * 4 * H + q * H + j];
              // each activation: the stated relative bound, plus the reference's own rounding
              ASSERT_LE(std::fabs(got - want), 2 * kEps * std::fabs(want)) << b << " " << j;
            }
            if (!active) {
              ASSERT_EQ(c[e], k.c_prev[e]);
              ASSERT_EQ(h[e], k.h_prev[e]);
              ASSERT_EQ(y[e], 0.0f);
              continue;
            }
            // c = f c_prev + i g: each product carries at most 2 activation errors + rounding
            const double fc = std::fabs(s[H + j] * k.c_prev[e]),
                         ig = std::fabs(s[j] * s[2 * H + j]);
            const double tol_c = 4 * kEps * (fc + ig);
            ASSERT_LE(std::fabs(c[e] - c_r[e]), tol_c) << b << " " << j;
            // h = o tanh(c): two activation errors on |h|, plus c's error (|dh/dc| <= 1)
            const double tol_h = 4 * kEps * std::fabs(h_r[e]) + tol_c;
            ASSERT_LE(std::fabs(h[e] - h_r[e]), tol_h) << b << " " << j;
            ASSERT_EQ(y[e], h[e]);
          }
        }
        if (!alias) {
          for (int64_t b = 0; b < N; ++b) {
            if (k.lengths[b] > 1) continue;
            for (int64_t j = 0; j < 4 * H; ++j) ASSERT_EQ(act[b * 4 * H + j], 0.0f);
          }
        }
      }
    }
  }
}

// The two-input cell is the one-input cell on the float sum gx + gh, bit for bit (act aliasing
// gh or not), and so is its reference twin: the v2 bound above carries over.
TEST(LstmCellV2, SumForwardEqualsForwardOnTheAddedGates) {
  uint64_t seed = 300;
  for (SimdPath path : paths()) {
    for (auto [N, H] : kCellSizes) {
      for (bool alias : {false, true}) {
        SCOPED_TRACE(std::string(cpu::simd_path_name(path)) + " N=" + std::to_string(N) +
                     " H=" + std::to_string(H) + (alias ? " act aliases gh" : ""));
        CellCase k(N, H, seed += 10);
        const kernels::LstmCellDesc d{N, H, 1};
        const std::vector<float> gx = floats(random_f64({N, 4 * H}, -3, 3, seed + 7));
        std::vector<float> sum(4 * N * H), gh = k.gates;
        for (size_t e = 0; e < sum.size(); ++e) sum[e] = gx[e] + gh[e];
        std::vector<float> act_w(4 * N * H), c_w(N * H), h_w(N * H), y_w(N * H);
        cpu::lstm_cell_forward_v2(d, k.lengths.data(), sum.data(), k.c_prev.data(), k.h_prev.data(),
                                  act_w.data(), c_w.data(), h_w.data(), y_w.data(), 2, path);
        std::vector<float> act(4 * N * H), c(N * H), h(N * H), y(N * H);
        float* act_out = alias ? gh.data() : act.data();
        cpu::lstm_cell_forward_sum_v2(d, k.lengths.data(), gx.data(), gh.data(), k.c_prev.data(),
                                      k.h_prev.data(), act_out, c.data(), h.data(), y.data(), 2,
                                      path);
        ASSERT_EQ(std::vector<float>(act_out, act_out + 4 * N * H), act_w);
        ASSERT_EQ(c, c_w);
        ASSERT_EQ(h, h_w);
        ASSERT_EQ(y, y_w);
        std::vector<float> act_r(4 * N * H), c_r(N * H), h_r(N * H), y_r(N * H);
        ref::lstm_cell_forward<float>(d, k.lengths.data(), sum.data(), k.c_prev.data(),
                                      k.h_prev.data(), act_r.data(), c_r.data(), h_r.data(),
                                      y_r.data());
        ref::lstm_cell_forward_sum<float>(d, k.lengths.data(), gx.data(), k.gates.data(),
                                          k.c_prev.data(), k.h_prev.data(), act.data(), c.data(),
                                          h.data(), y.data());
        ASSERT_EQ(act, act_r);
        ASSERT_EQ(c, c_r);
        ASSERT_EQ(h, h_r);
        ASSERT_EQ(y, y_r);
      }
    }
  }
}

TEST(LstmCellV2, BackwardMatchesReferenceWithinTheActivationBound) {
  uint64_t seed = 500;
  for (SimdPath path : paths()) {
    for (auto [N, H] : kCellSizes) {
      for (bool with_dy : {true, false}) {
        SCOPED_TRACE(std::string(cpu::simd_path_name(path)) + " N=" + std::to_string(N) +
                     " H=" + std::to_string(H) + (with_dy ? " dy" : " no dy"));
        CellCase k(N, H, seed += 10);
        const kernels::LstmCellDesc d{N, H, 1};
        std::vector<float> act(4 * N * H), c(N * H), h(N * H);
        ref::lstm_cell_forward<float>(d, k.lengths.data(), k.gates.data(), k.c_prev.data(),
                                      k.h_prev.data(), act.data(), c.data(), h.data(), nullptr);
        const float* dy = with_dy ? k.dy.data() : nullptr;
        std::vector<float> dh_r = k.dh, dc_r = k.dc, dg_r(4 * N * H);
        ref::lstm_cell_backward<float>(d, k.lengths.data(), act.data(), k.c_prev.data(), c.data(),
                                       dy, dh_r.data(), dc_r.data(), dg_r.data());
        std::vector<float> dh = k.dh, dc = k.dc, dg(4 * N * H, -7.0f);
        cpu::lstm_cell_backward_v2(d, k.lengths.data(), act.data(), k.c_prev.data(), c.data(), dy,
                                   dh.data(), dc.data(), dg.data(), 2, path);
        for (int64_t b = 0; b < N; ++b) {
          for (int64_t j = 0; j < H; ++j) {
            const int64_t e = b * H + j;
            if (k.lengths[b] <= 1) {
              for (int64_t q = 0; q < 4; ++q) ASSERT_EQ(dg[b * 4 * H + q * H + j], 0.0f);
              ASSERT_EQ(dh[e], k.dh[e]);
              ASSERT_EQ(dc[e], k.dc[e]);
              continue;
            }
            const float* s = act.data() + b * 4 * H;
            const double i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j];
            const double dhj = std::fabs(k.dh[e] + (dy ? dy[e] : 0.0f));
            // tanh(c) is the only approximated value: 1 - tanh^2 is off by at most 2 eps, so the
            // cell gradient dct by 2 eps |dh o| plus its rounding (4 eps over both terms)
            const double dct_scale = std::fabs(k.dc[e]) + dhj * o;
            const double tol_dct = 4 * kEps * dct_scale;
            const double tol[4] = {tol_dct * std::fabs(g) * i * (1 - i) + 1e-12,
                                   tol_dct * std::fabs(k.c_prev[e]) * f * (1 - f) + 1e-12,
                                   tol_dct * i * (1 - g * g) + 1e-12,
                                   4 * kEps * dhj * o * (1 - o) + 1e-12};
            for (int64_t q = 0; q < 4; ++q) {
              const int64_t at = b * 4 * H + q * H + j;
              ASSERT_LE(std::fabs(dg[at] - dg_r[at]), tol[q]) << q << " " << b << " " << j;
            }
            ASSERT_LE(std::fabs(dc[e] - dc_r[e]), tol_dct * f + 1e-12) << b << " " << j;
            ASSERT_EQ(dh[e], 0.0f);
          }
        }
      }
    }
  }
}

// Sets SIGNET_IMPL_<op> to impl for the scope's lifetime ("" leaves the choice to dispatch).
class ForceImpl {
 public:
  ForceImpl(const std::string& op, const std::string& impl) : var_("SIGNET_IMPL_" + op) {
    if (!impl.empty()) setenv(var_.c_str(), impl.c_str(), 1);
  }
  ~ForceImpl() { unsetenv(var_.c_str()); }
  ForceImpl(const ForceImpl&) = delete;
  ForceImpl& operator=(const ForceImpl&) = delete;

 private:
  std::string var_;
};

// Output, h_n and every gradient of a 2-layer bidirectional f32 LSTM with odd sizes and
// lengths, run under the given "lstm_gemm" and "lstm_cell*" versions (a forced cell runs the
// per-step "lstm_steps" v1_steps, which calls it; "" the engine's choice, the fused steps).
std::vector<Tensor> run_lstm(const std::string& gemm, const std::string& cell) {
  ForceImpl g("lstm_gemm", gemm), f("lstm_cell", cell), b("lstm_cell_backward", cell);
  const std::string steps = cell.empty() ? "" : "v1_steps";
  ForceImpl st("lstm_steps", steps), sb("lstm_steps_backward", steps);
  manual_seed(41);
  nn::LstmOptions o;
  o.input_size = 37;
  o.hidden_size = 19;
  o.num_layers = 2;
  o.bidirectional = true;
  nn::LSTM m(o);
  Tensor x = random_f64({6, 5, 37}, -1, 1, 42).to(DType::f32).requires_grad_();
  auto [y, s] = m.forward(x, {}, from_vector<int64_t>({6, 2, 5, 1, 4}));
  Tensor w = random_f64(y.shape(), -1, 1, 43).to(DType::f32);
  sum(y * w).backward();
  std::vector<Tensor> out{y.detach(), s.h.detach(), s.c.detach(), x.grad()};
  for (const Tensor& p : m.parameters()) out.push_back(p.grad());
  return out;
}

// Expects two run_lstm results to agree element-wise within tol.
void expect_runs_close(const std::vector<Tensor>& got, const std::vector<Tensor>& want,
                       double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k)
    testing::expect_close(got[k].to(DType::f64), want[k].to(DType::f64), tol,
                          "result " + std::to_string(k));
}

TEST(LstmDispatch, PackedGemmAgreesWithTheReferenceGemm) {
  const std::vector<Tensor> ref = run_lstm("v1_reference", "v1_reference");
  // float sums of up to 4H + I = 113 products of magnitude <= 1 in different orders (measured
  // worst difference below 3e-7)
  expect_runs_close(run_lstm("v2_packed", "v1_reference"), ref, 1e-6);
  expect_runs_close(run_lstm("v4_shared", "v1_reference"), ref, 1e-6);
}

TEST(LstmDispatch, SimdCellAgreesWithTheReferenceCell) {
  const std::vector<Tensor> ref = run_lstm("v1_reference", "v1_reference");
  // per-step activation errors of a few 2^-24, carried through 6 steps and 2 layers (measured
  // worst difference below 3e-7, with or without the packed GEMM)
  expect_runs_close(run_lstm("v1_reference", "v2_simd"), ref, 1e-6);
  expect_runs_close(run_lstm("", ""), ref, 1e-6);
}

TEST(LstmDispatch, FastVersionsRefuseFloat64) {
  nn::LstmOptions o;
  o.input_size = 3;
  o.hidden_size = 2;
  o.dtype = DType::f64;
  nn::LSTM m(o);
  const Tensor x = random_f64({2, 1, 3});
  {
    ForceImpl g("lstm_gemm", "v2_packed");
    testing::expect_error([&] { m.forward(x); }, {"SIGNET_IMPL_lstm_gemm=v2_packed", "f64"});
  }
  ForceImpl f("lstm_cell", "v2_simd");
  testing::expect_error([&] { m.forward(x); }, {"SIGNET_IMPL_lstm_cell=v2_simd", "f64"});
}

TEST(LstmCellStep, GradcheckWithPaddingRowsAndEqualsLstmCell) {
  const Tensor gates = random_f64({3, 20}, -2, 2, 60), c_prev = random_f64({3, 5}, -1, 1, 61);
  const Tensor h_prev = random_f64({3, 5}, -1, 1, 62);
  const std::vector<int64_t> lengths{2, 1, 3};  // at step 1, row 1 is padding
  auto all = [&](const std::vector<Tensor>& v) {
    LstmStepResult r = lstm_cell_step(v[0], v[1], v[2], lengths, 1);
    return cat({r.y, r.h, r.c}, 0);
  };
  EXPECT_TRUE(testing::gradcheck(all, {gates, c_prev, h_prev}));
  // without lengths, one step on gates = x W_ih^T + b is torch.nn.LSTMCell
  const Tensor x = random_f64({3, 4}, -1, 1, 63), w_ih = random_f64({20, 4}, -1, 1, 64);
  const Tensor w_hh = random_f64({20, 5}, -1, 1, 65);
  const LstmWeights w{w_ih, w_hh, zeros({20}, DType::f64), zeros({20}, DType::f64)};
  auto [h_want, c_want] = lstm_cell(x, w, h_prev, c_prev);
  LstmStepResult r = lstm_cell_step(matmul(x, w_ih.t()) + matmul(h_prev, w_hh.t()), c_prev, h_prev);
  testing::expect_close(r.h, h_want, 1e-14, "h");
  testing::expect_close(r.c, c_want, 1e-14, "c");
  testing::expect_close(r.y, h_want, 1e-14, "y");
}

TEST(LstmCellStep, SumGradcheckWithPaddingRowsAndEqualsOneInputStep) {
  const Tensor gx = random_f64({3, 20}, -2, 2, 66), gh = random_f64({3, 20}, -2, 2, 67);
  const Tensor c_prev = random_f64({3, 5}, -1, 1, 68), h_prev = random_f64({3, 5}, -1, 1, 69);
  const std::vector<int64_t> lengths{2, 1, 3};
  auto all = [&](const std::vector<Tensor>& v) {
    LstmStepResult r = lstm_cell_step_sum(v[0], v[1], v[2], v[3], lengths, 1);
    return cat({r.y, r.h, r.c}, 0);
  };
  EXPECT_TRUE(testing::gradcheck(all, {gx, gh, c_prev, h_prev}));
  auto all_active = [&](const std::vector<Tensor>& v) {  // h_prev gets no gradient (undefined)
    LstmStepResult r = lstm_cell_step_sum(v[0], v[1], v[2], v[3]);
    return cat({r.h, r.c}, 0);
  };
  EXPECT_TRUE(testing::gradcheck(all_active, {gx, gh, c_prev, h_prev}));
  LstmStepResult want = lstm_cell_step(gx + gh, c_prev, h_prev, lengths, 1);
  LstmStepResult got = lstm_cell_step_sum(gx, gh, c_prev, h_prev, lengths, 1);
  testing::expect_close(got.y, want.y, 1e-15, "y");
  testing::expect_close(got.c, want.c, 1e-15, "c");
  testing::expect_error(
      [&] {
        lstm_cell_step_sum(gx, zeros({3, 16}, DType::f64), c_prev, h_prev);
      },
      {"lstm", "gates_h", "[3, 16]"});
}

TEST(LstmCellStep, BadShapesNameTheOp) {
  const Tensor c = zeros({3, 5}, DType::f64);
  testing::expect_error(
      [&] {
        lstm_cell_step(zeros({3, 18}, DType::f64), c, c);
      },
      {"lstm_cell_step", "(N, 4U)"});
  testing::expect_error(
      [&] {
        lstm_cell_step(zeros({3, 24}, DType::f64), c, c);
      },
      {"c_prev", "[3, 6]"});
  testing::expect_error(
      [&] {
        lstm_cell_step(zeros({3, 20}, DType::f64), c, c, {1, 2}, 0);
      },
      {"lstm_cell_step", "2 lengths"});
}

}  // namespace
}  // namespace signet
