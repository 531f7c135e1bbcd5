// The fused LSTM steps (kernels/cpu/lstm_steps.h) against their reference twin, a per-step loop
// of ref::gemm and ref::lstm_cell_*: odd sizes (H not a multiple of any MR, the batch across
// several NR-column slivers), padding rows, both directions, with and without h0, 1-3 threads
// (and one thread doing the shares of three: the others' blocks taken from the back),
// every SIMD path the CPU runs; the results do not depend on the thread count (bitwise); and an
// f32 LSTM layer gives the same outputs and gradients (to float rounding) under "lstm_steps" /
// "lstm_steps_backward" v2_fused as under the per-step v1_steps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/ops/lstm.h"
#include "engine/ops/reduce.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/lstm_steps.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/lstm.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet {
namespace {

using cpu::SimdPath;
using testing::random_f64;
using testing::uniform_floats;

// One layer's sizes and options.
struct Case {
  int64_t T, N, H;
  bool reverse, h0_zero, lengths;
};

// uniform_floats(n, seed) scaled by s.
std::vector<float> scaled(size_t n, unsigned seed, float s) {
  std::vector<float> v = uniform_floats(n, seed);
  for (float& x : v) x *= s;
  return v;
}

// A layer's inputs: gates (the input projection), W_hh, the bias, h0/c0 in hbuf/cbuf's first slot,
// the gradients dy, dh_n, dc_n, and lengths with a zero, a full and partial lengths.
struct Inputs {
  std::vector<float> act, w, bias, hbuf, cbuf, dy, dh, dc;
  std::vector<int64_t> lens;

  Inputs(const Case& c, unsigned seed) {
    const int64_t NH = c.N * c.H, G = 4 * c.H;
    act = scaled(size_t(c.T * c.N * G), seed, 2.0f);
    w = scaled(size_t(G * c.H), seed + 1, 1.0f / std::sqrt(float(c.H)));
    bias = scaled(size_t(G), seed + 7, 0.5f);
    hbuf.assign(size_t((c.T + 1) * NH), 0.0f);
    cbuf.assign(size_t((c.T + 1) * NH), 0.0f);
    const int64_t first = c.reverse ? c.T : 0;
    const std::vector<float> h0 = scaled(size_t(NH), seed + 2, 1.0f);
    const std::vector<float> c0 = scaled(size_t(NH), seed + 3, 1.0f);
    if (!c.h0_zero) std::copy(h0.begin(), h0.end(), hbuf.begin() + first * NH);
    std::copy(c0.begin(), c0.end(), cbuf.begin() + first * NH);
    dy = scaled(size_t(c.T * NH), seed + 4, 1.0f);
    dh = scaled(size_t(NH), seed + 5, 1.0f);
    dc = scaled(size_t(NH), seed + 6, 1.0f);
    for (int64_t b = 0; b < c.N; ++b) lens.push_back(b == 1 ? 0 : (b % 3 == 0 ? c.T : b % c.T));
  }
};

// The forward (act, hbuf, cbuf, y) and backward (dgates, dh, dc, the bias gradient) results of
// one run.
struct Results {
  std::vector<float> act, hbuf, cbuf, y, dgates, dh, dc, dbias;
};

// The reference twin: the bias added to every row, then per step ref::gemm and
// ref::lstm_cell_forward / _backward; the bias gradient as double column sums of dgates.
Results reference(const Case& c, const Inputs& in) {
  const int64_t T = c.T, N = c.N, H = c.H, G = 4 * H, NH = N * H;
  const int64_t* lens = c.lengths ? in.lens.data() : nullptr;
  Results r{in.act, in.hbuf, in.cbuf, std::vector<float>(size_t(T * NH), 0.0f),
            {},     in.dh,   in.dc,   {}};
  for (size_t e = 0; e < r.act.size(); ++e) r.act[e] += in.bias[e % size_t(G)];
  for (int64_t st = 0; st < T; ++st) {
    const int64_t t = c.reverse ? T - 1 - st : st;
    const int64_t prev = c.reverse ? t + 1 : t, next = c.reverse ? t : t + 1;
    float* gates = r.act.data() + t * N * G;
    ref::gemm<float>(kernels::row_major_gemm(N, G, H, false, true, 1.0), r.hbuf.data() + prev * NH,
                     in.w.data(), gates);
    ref::lstm_cell_forward<float>({N, H, t}, lens, gates, r.cbuf.data() + prev * NH,
                                  r.hbuf.data() + prev * NH, gates, r.cbuf.data() + next * NH,
                                  r.hbuf.data() + next * NH, lens ? r.y.data() + t * NH : nullptr);
  }
  r.dgates.assign(size_t(T * N * G), 0.0f);
  for (int64_t st = T - 1; st >= 0; --st) {
    const int64_t t = c.reverse ? T - 1 - st : st;
    const int64_t prev = c.reverse ? t + 1 : t, next = c.reverse ? t : t + 1;
    float* dg = r.dgates.data() + t * N * G;
    ref::lstm_cell_backward<float>({N, H, t}, lens, r.act.data() + t * N * G,
                                   r.cbuf.data() + prev * NH, r.cbuf.data() + next * NH,
                                   in.dy.data() + t * NH, r.dh.data(), r.dc.data(), dg);
    ref::gemm<float>(kernels::row_major_gemm(N, H, G, false, false, 1.0), dg, in.w.data(),
                     r.dh.data());
  }
  std::vector<double> sums(size_t(G), 0.0);
  for (size_t e = 0; e < r.dgates.size(); ++e) sums[e % size_t(G)] += r.dgates[e];
  r.dbias.assign(sums.begin(), sums.end());
  return r;
}

// The fused steps on `path` with `threads` threads (the product into h0's gradient included).
Results fused(const Case& c, const Inputs& in, SimdPath path, int threads) {
  const int64_t T = c.T, N = c.N, H = c.H, NH = N * H;
  const int64_t* lens = c.lengths ? in.lens.data() : nullptr;
  const cpu::LstmStepsDesc d{T, N, H, c.reverse};
  std::vector<float> pw(cpu::lstm_steps_packed_w_floats(H, path) + 16);
  std::vector<float> pwb(cpu::lstm_steps_packed_w_backward_floats(H, path) + 16);
  std::vector<unsigned char> ws(cpu::lstm_steps_workspace_bytes(d, threads, path));
  // The packed weights 64-byte aligned, as the kernels ask.
  auto aligned = [](std::vector<float>& v) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(v.data());
    return v.data() + ((64 - p % 64) % 64) / sizeof(float);
  };
  float* w_fwd = aligned(pw);
  float* w_bwd = aligned(pwb);
  cpu::lstm_steps_pack_w(H, in.w.data(), w_fwd, threads, path);
  cpu::lstm_steps_pack_w_backward(H, in.w.data(), w_bwd, threads, path);
  Results r{in.act, in.hbuf, in.cbuf, std::vector<float>(size_t(T * NH), 0.0f),
            {},     in.dh,   in.dc,   {}};
  cpu::lstm_steps_forward(d, lens, w_fwd, in.bias.data(), c.h0_zero, r.act.data(), r.hbuf.data(),
                          r.cbuf.data(), lens ? r.y.data() : nullptr, ws.data(), threads, path);
  r.dgates.assign(size_t(T * N * 4 * H), 0.0f);
  std::vector<float> partial(size_t(T * 4 * H));
  cpu::lstm_steps_backward(d, lens, w_bwd, r.act.data(), r.cbuf.data(), in.dy.data(), true,
                           r.dh.data(), r.dc.data(), r.dgates.data(), partial.data(), ws.data(),
                           threads, path);
  r.dbias.assign(size_t(4 * H), 0.0f);
  for (size_t e = 0; e < partial.size(); ++e) r.dbias[e % size_t(4 * H)] += partial[e];
  return r;
}

// fused(c, in, path, 3) on a team of one thread (a region nested in an active one gets one when
// nesting is off), which must finish its own share of every step and take the other two from the
// back.
Results fused_alone(const Case& c, const Inputs& in, SimdPath path) {
#ifdef SIGNET_WITH_OPENMP
  Results r;
  const int levels = omp_get_max_active_levels();
  omp_set_max_active_levels(1);
#pragma omp parallel num_threads(2)
  {
#pragma omp master
    r = fused(c, in, path, 3);
  }
  omp_set_max_active_levels(levels);
  return r;
#else
  return fused(c, in, path, 3);
#endif
}

// Largest |got - want| / (1 + |want|).
double worst(const std::vector<float>& got, const std::vector<float>& want) {
  double w = 0;
  for (size_t i = 0; i < want.size(); ++i)
    w = std::max(w, std::fabs(double(got[i]) - want[i]) / (1 + std::fabs(double(want[i]))));
  return w;
}

TEST(LstmSteps, FusedMatchesTheReferenceLoopOnEveryPathAndThreadCount) {
  // H = 29 and 101: no multiple of MR 12, 6 or 4 (partial slivers); 101 is three chunks of 48
  // units (7 of 16 on the portable path), so 2 and 3 threads share the steps; N = 37: two
  // 32-column slivers (three of 16).
  const Case cases[] = {{4, 37, 29, false, false, true},  {5, 37, 101, true, true, true},
                        {3, 37, 101, false, false, true}, {3, 5, 29, false, true, false},
                        {3, 33, 61, true, false, false},  {1, 7, 13, false, false, true}};
  for (const Case& c : cases) {
    const Inputs in(c, unsigned(c.T * 100 + c.N + c.H));
    const Results want = reference(c, in);
    for (SimdPath path : cpu::supported_simd_paths()) {
      const Results one = fused(c, in, path, 1);
      // f32 sums of H or 4H products in another order and the approximate activations
      // (kLstmActivationMaxRelError) carried through T steps: measured worst 2.2e-7.
      const double tol = 2e-6;
      const std::string at = "T" + std::to_string(c.T) + " N" + std::to_string(c.N) + " H" +
                             std::to_string(c.H) + " path " + std::to_string(int(path));
      EXPECT_LT(worst(one.act, want.act), tol) << at;
      EXPECT_LT(worst(one.hbuf, want.hbuf), tol) << at;
      EXPECT_LT(worst(one.cbuf, want.cbuf), tol) << at;
      EXPECT_LT(worst(one.y, want.y), tol) << at;
      EXPECT_LT(worst(one.dgates, want.dgates), tol) << at;
      EXPECT_LT(worst(one.dh, want.dh), tol) << at;
      EXPECT_LT(worst(one.dc, want.dc), tol) << at;
      EXPECT_LT(worst(one.dbias, want.dbias), tol) << at;
      for (int threads : {2, 3, 0}) {
        const Results many = threads ? fused(c, in, path, threads) : fused_alone(c, in, path);
        EXPECT_EQ(many.act, one.act) << at << " threads " << threads;
        EXPECT_EQ(many.hbuf, one.hbuf) << at << " threads " << threads;
        EXPECT_EQ(many.cbuf, one.cbuf) << at << " threads " << threads;
        EXPECT_EQ(many.y, one.y) << at << " threads " << threads;
        EXPECT_EQ(many.dgates, one.dgates) << at << " threads " << threads;
        EXPECT_EQ(many.dh, one.dh) << at << " threads " << threads;
        EXPECT_EQ(many.dc, one.dc) << at << " threads " << threads;
        EXPECT_EQ(many.dbias, one.dbias) << at << " threads " << threads;
      }
    }
  }
}

// Output, h_n, c_n and every gradient of an f32 layer (N = 37, H = 29) with lengths, h0 given or
// not, run with "lstm_steps" and "lstm_steps_backward" forced to `impl`.
std::vector<Tensor> layer_run(const char* impl, bool with_h0, bool reverse) {
  setenv("SIGNET_IMPL_lstm_steps", impl, 1);
  setenv("SIGNET_IMPL_lstm_steps_backward", impl, 1);
  const int64_t T = 4, N = 37, I = 11, H = 29;
  std::vector<Tensor> xs{
      random_f64({T, N, I}, -1, 1, 160),      random_f64({4 * H, I}, -0.2, 0.2, 161),
      random_f64({4 * H, H}, -0.2, 0.2, 162), random_f64({4 * H}, -0.2, 0.2, 163),
      random_f64({4 * H}, -0.2, 0.2, 164),    random_f64({N, H}, -1, 1, 165),
      random_f64({N, H}, -1, 1, 166)};
  for (Tensor& t : xs) t = t.to(DType::f32).requires_grad_();
  std::vector<int64_t> lens;
  for (int64_t b = 0; b < N; ++b) lens.push_back(b % 5);
  const LstmWeights w{xs[1], xs[2], xs[3], xs[4]};
  LstmLayerResult r =
      lstm_layer(xs[0], w, with_h0 ? xs[5] : Tensor(), xs[6], from_vector<int64_t>(lens), reverse);
  Tensor all = cat({r.output.reshape({-1}), r.h_n.reshape({-1}), r.c_n.reshape({-1})}, 0);
  sum(all * random_f64(all.shape(), -1, 1, 167).to(DType::f32)).backward();
  unsetenv("SIGNET_IMPL_lstm_steps");
  unsetenv("SIGNET_IMPL_lstm_steps_backward");
  std::vector<Tensor> out{all.detach()};
  for (size_t k = 0; k < xs.size(); ++k)
    if (with_h0 || k != 5) out.push_back(xs[k].grad());
  return out;
}

TEST(LstmSteps, LayerAgreesWithThePerStepPath) {
  for (bool with_h0 : {true, false})
    for (bool reverse : {false, true}) {
      const std::vector<Tensor> want = layer_run("v1_steps", with_h0, reverse);
      const std::vector<Tensor> got = layer_run("v2_fused", with_h0, reverse);
      ASSERT_EQ(got.size(), want.size());
      // The same products and cells; only the bias is added after the recurrent product instead
      // of before it, and the bias gradient summed per step (measured worst 4.5e-7).
      for (size_t k = 0; k < got.size(); ++k)
        EXPECT_LT(worst(got[k].to_vector<float>(), want[k].to_vector<float>()), 2e-6)
            << "result " << k << " h0 " << with_h0 << " reverse " << reverse;
    }
}

}  // namespace
}  // namespace signet
