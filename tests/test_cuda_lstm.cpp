// The device LSTM (kernels/cuda/lstm_cell.h, lstm_seq.h) in the host SIMT mode against the CPU
// reference computed in double from the same f32 inputs: the fused cell forward and backward on
// odd sizes, with and without lengths, y and dy, act aliasing gates; the sequence driver forward
// and backward in both directions, with variable lengths (zero and full included), bias and
// initial state, every gradient compared; padding exactly zero in y and in the gate gradients.
//
// Tolerance. Inputs lie in [-1, 1] (gate pre-activations in [-3, 3], weights in
// [-1/sqrt(H), 1/sqrt(H)] as PyTorch initialises them). One cell output is at most ~12 f32
// operations, the transcendental ones within 2 ulp (CUDA's expf/tanhf; glibc's are tighter), each
// step's derivative bounded by 1 (sigmoid' <= 1/4, tanh' <= 1, f < 1), on magnitudes <= 3: an
// absolute error below 64 u (1 + |ref|) with u = 2^-24 covers it with margin (kCellUlps). A GEMM
// of k terms adds gamma_k sum |a b| (Higham 3.1, as tests/test_cuda_gemm.cpp); through the
// sequence each step adds one cell and one recurrent plus input GEMM (k = I + H), and the weight
// gradients sum T N products: the sequence bound is T (T N + I + H + 64) u (1 + |ref|).
// Measured here the worst error is about 3 u (1 + |ref|); a wrong term errs by ~1e-2 or more.
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/common/gemm_desc.h"
#include "kernels/common/lstm_cell.h"
#include "kernels/cuda/lstm_cell.h"
#include "kernels/cuda/lstm_seq.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/lstm.h"
#include "tests/test_lstm_inputs.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {
namespace {

using kernels::LstmCellDesc;

constexpr double kUnit = 1.0 / (1 << 24);
constexpr double kCellUlps = 64;

// The same values in double.
std::vector<double> widen(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// Counts elements of got outside ulps * u * (1 + |want|) of want, naming the first in `first`.
int64_t mismatches(const std::vector<float>& got, const std::vector<double>& want, double ulps,
                   const std::string& what, std::string& first) {
  int64_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double tol = ulps * kUnit * (1.0 + std::fabs(want[i]));
    if (!(std::fabs(double(got[i]) - want[i]) <= tol) && bad++ == 0 && first.empty())
      first = what + "[" + std::to_string(i) + "] = " + std::to_string(got[i]) + ", want " +
              std::to_string(want[i]) + " +- " + std::to_string(tol);
  }
  return bad;
}

// Device lengths for the host ones (an empty buffer stands for none).
struct Lengths {
  explicit Lengths(const std::vector<int64_t>& host)
      : host(host), device(host.empty() ? 1 : host.size()) {
    if (!host.empty()) device.write(host);
  }
  const int64_t* host_ptr() const { return host.empty() ? nullptr : host.data(); }
  const int64_t* device_ptr() const { return host.empty() ? nullptr : device.get(); }
  std::vector<int64_t> host;
  DeviceBuffer<int64_t> device;
};

// One cell case: sizes, the step and the lengths (empty: none).
struct CellCase {
  int64_t n, h, step;
  std::vector<int64_t> lengths;
};

const CellCase kCellCases[] = {
    {1, 1, 0, {}},           {3, 5, 0, {}},  {3, 5, 2, {4, 2, 0}},
    {4, 7, 3, {3, 4, 9, 1}}, {5, 33, 1, {}}, {7, 65, 5, {6, 5, 0, 7, 2, 9, 5}},
    {2, 300, 0, {1, 0}},
};

TEST(CudaLstmCell, ForwardMatchesReference) {
  for (const CellCase& cc : kCellCases)
    for (int variant = 0; variant < 4; ++variant) {
      const bool with_y = variant & 1, alias = variant & 2;
      const LstmCellDesc d{cc.n, cc.h, cc.step};
      const size_t nh = size_t(cc.n * cc.h), ng = 4 * nh;
      const uint32_t seed = uint32_t(cc.n * 131 + cc.h * 7 + variant);
      const std::vector<float> gates = uniform(ng, 3.0f, seed),
                               c_prev = uniform(nh, 1.0f, seed + 1),
                               h_prev = uniform(nh, 1.0f, seed + 2);
      const Lengths lens(cc.lengths);
      DeviceBuffer<float> dg(gates), dcp(c_prev), dhp(h_prev), dact(ng), dc(nh), dh(nh), dy(nh);
      float* act = alias ? dg.get() : dact.get();
      ASSERT_EQ(lstm_cell_forward_f32(d, lens.device_ptr(), dg.get(), dcp.get(), dhp.get(), act,
                                      dc.get(), dh.get(), with_y ? dy.get() : nullptr),
                cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();

      std::vector<double> ract(ng), rc(nh), rh(nh), ry(nh);
      const std::vector<double> rg = widen(gates), rcp = widen(c_prev), rhp = widen(h_prev);
      ref::lstm_cell_forward<double>(d, lens.host_ptr(), rg.data(), rcp.data(), rhp.data(),
                                     ract.data(), rc.data(), rh.data(), ry.data());
      std::string first;
      int64_t bad = mismatches(alias ? dg.read() : dact.read(), ract, kCellUlps, "act", first) +
                    mismatches(dc.read(), rc, kCellUlps, "c", first) +
                    mismatches(dh.read(), rh, kCellUlps, "h", first);
      if (with_y) bad += mismatches(dy.read(), ry, kCellUlps, "y", first);
      EXPECT_EQ(bad, 0) << "N " << cc.n << " H " << cc.h << " step " << cc.step << " y " << with_y
                        << " alias " << alias << ": " << first;
    }
}

TEST(CudaLstmCell, BackwardMatchesReference) {
  for (const CellCase& cc : kCellCases)
    for (bool with_dy : {false, true}) {
      const LstmCellDesc d{cc.n, cc.h, cc.step};
      const size_t nh = size_t(cc.n * cc.h), ng = 4 * nh;
      const uint32_t seed = uint32_t(cc.n * 17 + cc.h * 3 + with_dy);
      // Saved activations as forward makes them: act from gates, c from act and c_prev.
      const std::vector<float> gates = uniform(ng, 3.0f, seed),
                               c_prev = uniform(nh, 1.0f, seed + 1);
      std::vector<float> act(ng), c(nh), h(nh);
      ref::lstm_cell_forward<float>({cc.n, cc.h, 0}, nullptr, gates.data(), c_prev.data(), nullptr,
                                    act.data(), c.data(), h.data(), nullptr);
      const std::vector<float> dy = uniform(nh, 1.0f, seed + 2), dh = uniform(nh, 1.0f, seed + 3),
                               dc = uniform(nh, 1.0f, seed + 4);
      const Lengths lens(cc.lengths);
      DeviceBuffer<float> dact(act), dcp(c_prev), dcc(c), ddy(dy), ddh(dh), ddc(dc),
          ddg(uniform(ng, 1.0f, seed + 5));
      ASSERT_EQ(
          lstm_cell_backward_f32(d, lens.device_ptr(), dact.get(), dcp.get(), dcc.get(),
                                 with_dy ? ddy.get() : nullptr, ddh.get(), ddc.get(), ddg.get()),
          cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();

      std::vector<double> rdh = widen(dh), rdc = widen(dc), rdg(ng);
      const std::vector<double> ra = widen(act), rcp = widen(c_prev), rc = widen(c),
                                rdy = widen(dy);
      ref::lstm_cell_backward<double>(d, lens.host_ptr(), ra.data(), rcp.data(), rc.data(),
                                      with_dy ? rdy.data() : nullptr, rdh.data(), rdc.data(),
                                      rdg.data());
      std::string first;
      const int64_t bad = mismatches(ddg.read(), rdg, kCellUlps, "dgates", first) +
                          mismatches(ddh.read(), rdh, kCellUlps, "dh", first) +
                          mismatches(ddc.read(), rdc, kCellUlps, "dc", first);
      EXPECT_EQ(bad, 0) << "N " << cc.n << " H " << cc.h << " step " << cc.step << " dy " << with_dy
                        << ": " << first;
    }
}

// C (m, n) = op(A) op(B) + beta C in double on gapless row-major operands.
void gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, double beta, const double* a,
          const double* b, double* c) {
  kernels::GemmDesc d;
  d.m = m, d.n = n, d.k = k, d.trans_a = ta, d.trans_b = tb;
  d.lda = ta ? m : k, d.ldb = tb ? k : n, d.ldc = n, d.beta = beta;
  ref::gemm<double>(d, a, b, c);
}

// The CPU layer in double, step for step as engine/ops/lstm.cpp runs it.
struct RefLayer {
  std::vector<double> act, hbuf, cbuf, y, dgates, dx, dw_ih, dw_hh, dbias, dh, dc;
};

// Forward and backward of one layer in double; dh, dc start as the gradients of h_n and c_n.
RefLayer reference_layer(const LstmSeqDesc& d, const int64_t* lens, const std::vector<double>& x,
                         const std::vector<double>& w_ih, const std::vector<double>& w_hh,
                         const std::vector<double>& bias, const std::vector<double>& h0,
                         const std::vector<double>& c0, const std::vector<double>& dy,
                         std::vector<double> dh, std::vector<double> dc) {
  const int64_t T = d.steps, N = d.batch, I = d.input, H = d.hidden, G = 4 * H;
  RefLayer r;
  r.act.assign(size_t(T * N * G), 0.0);
  r.hbuf.assign(size_t((T + 1) * N * H), 0.0);
  r.cbuf = r.hbuf;
  r.y.assign(size_t(T * N * H), 0.0);
  for (int64_t row = 0; row < T * N; ++row)
    for (int64_t j = 0; j < G; ++j) r.act[size_t(row * G + j)] = bias[size_t(j)];
  gemm(T * N, G, I, false, true, 1.0, x.data(), w_ih.data(), r.act.data());
  const int64_t first = d.reverse ? T : 0;
  std::copy(h0.begin(), h0.end(), r.hbuf.begin() + first * N * H);
  std::copy(c0.begin(), c0.end(), r.cbuf.begin() + first * N * H);
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = d.reverse ? T - 1 - s : s, prev = d.reverse ? t + 1 : t,
                  next = d.reverse ? t : t + 1;
    double* gates = r.act.data() + t * N * G;
    gemm(N, G, H, false, true, 1.0, r.hbuf.data() + prev * N * H, w_hh.data(), gates);
    ref::lstm_cell_forward<double>(
        {N, H, t}, lens, gates, r.cbuf.data() + prev * N * H, r.hbuf.data() + prev * N * H, gates,
        r.cbuf.data() + next * N * H, r.hbuf.data() + next * N * H, r.y.data() + t * N * H);
  }
  r.dgates.assign(size_t(T * N * G), 0.0);
  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t t = d.reverse ? T - 1 - s : s, prev = d.reverse ? t + 1 : t,
                  next = d.reverse ? t : t + 1;
    ref::lstm_cell_backward<double>({N, H, t}, lens, r.act.data() + t * N * G,
                                    r.cbuf.data() + prev * N * H, r.cbuf.data() + next * N * H,
                                    dy.data() + t * N * H, dh.data(), dc.data(),
                                    r.dgates.data() + t * N * G);
    gemm(N, H, G, false, false, 1.0, r.dgates.data() + t * N * G, w_hh.data(), dh.data());
  }
  r.dx.assign(size_t(T * N * I), 0.0);
  r.dw_ih.assign(size_t(G * I), 0.0);
  r.dw_hh.assign(size_t(G * H), 0.0);
  r.dbias.assign(size_t(G), 0.0);
  gemm(T * N, I, G, false, false, 0.0, r.dgates.data(), w_ih.data(), r.dx.data());
  gemm(G, I, T * N, true, false, 0.0, r.dgates.data(), x.data(), r.dw_ih.data());
  gemm(G, H, T * N, true, false, 0.0, r.dgates.data(), r.hbuf.data() + (d.reverse ? N * H : 0),
       r.dw_hh.data());
  for (int64_t row = 0; row < T * N; ++row)
    for (int64_t j = 0; j < G; ++j) r.dbias[size_t(j)] += r.dgates[size_t(row * G + j)];
  r.dh = std::move(dh);
  r.dc = std::move(dc);
  return r;
}

// One sequence case: sizes, lengths (empty: none), direction.
struct SeqCase {
  int64_t t, n, i, h;
  std::vector<int64_t> lengths;
  bool reverse;
};

const SeqCase kSeqCases[] = {
    {4, 3, 6, 5, {}, false},       {5, 3, 6, 5, {5, 2, 0}, false},
    {5, 3, 6, 5, {1, 5, 3}, true}, {3, 4, 9, 7, {3, 1, 2, 3}, false},
    {6, 2, 5, 33, {4, 6}, true},   {1, 1, 1, 1, {}, false},
};

TEST(CudaLstmSeq, ForwardAndBackwardMatchCpuReference) {
  for (const SeqCase& sc : kSeqCases) {
    const LstmSeqDesc d{sc.t, sc.n, sc.i, sc.h, sc.reverse};
    const int64_t T = sc.t, N = sc.n, I = sc.i, H = sc.h, G = 4 * H;
    const size_t nh = size_t(N * H), tnh = size_t(T) * nh, tng = size_t(T * N * G);
    const uint32_t seed = uint32_t(T * 1000 + N * 100 + H + sc.reverse);
    const LstmLayerInputs in(d, seed);
    const std::vector<float>&x = in.x, &w_ih = in.w_ih, &w_hh = in.w_hh, &bias = in.bias,
          &h0 = in.h0, &c0 = in.c0, &dy = in.dy, &dh_n = in.dh_n, &dc_n = in.dc_n;
    const Lengths lens(sc.lengths);
    DeviceBuffer<float> dx(x), dw_ih(w_ih), dw_hh(w_hh), dbias(bias), dh0(h0), dc0(c0), ddy(dy),
        act(tng), hbuf(tnh + nh), cbuf(tnh + nh), y(tnh), dgates(tng), gx(x.size()),
        gw_ih(w_ih.size()), gw_hh(w_hh.size()), gbias(bias.size()), gdh(dh_n), gdc(dc_n);
    const LstmSeqForward fwd{act.get(), hbuf.get(), cbuf.get(), y.get()};
    ASSERT_EQ(lstm_seq_forward_f32(d, lens.device_ptr(), dx.get(), dw_ih.get(), dw_hh.get(),
                                   dbias.get(), dh0.get(), dc0.get(), fwd),
              cudaSuccess);
    LstmSeqGrads g;
    g.x = gx.get(), g.w_ih = gw_ih.get(), g.w_hh = gw_hh.get(), g.bias = gbias.get();
    g.dh = gdh.get(), g.dc = gdc.get(), g.dgates = dgates.get(), g.need_h0 = true;
    ASSERT_EQ(lstm_seq_backward_f32(d, lens.device_ptr(), dx.get(), dw_ih.get(), dw_hh.get(), fwd,
                                    ddy.get(), g),
              cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();

    const RefLayer r =
        reference_layer(d, lens.host_ptr(), widen(x), widen(w_ih), widen(w_hh), widen(bias),
                        widen(h0), widen(c0), widen(dy), widen(dh_n), widen(dc_n));
    const double ulps = double(T) * double(T * N + I + H + kCellUlps);
    std::string first;
    const std::vector<float> got_y = y.read(), got_dg = dgates.read();
    int64_t bad = mismatches(act.read(), r.act, ulps, "act", first) +
                  mismatches(hbuf.read(), r.hbuf, ulps, "hbuf", first) +
                  mismatches(cbuf.read(), r.cbuf, ulps, "cbuf", first) +
                  mismatches(got_y, r.y, ulps, "y", first) +
                  mismatches(got_dg, r.dgates, ulps, "dgates", first) +
                  mismatches(gx.read(), r.dx, ulps, "dx", first) +
                  mismatches(gw_ih.read(), r.dw_ih, ulps, "dw_ih", first) +
                  mismatches(gw_hh.read(), r.dw_hh, ulps, "dw_hh", first) +
                  mismatches(gbias.read(), r.dbias, ulps, "dbias", first) +
                  mismatches(gdh.read(), r.dh, ulps, "dh0", first) +
                  mismatches(gdc.read(), r.dc, ulps, "dc0", first);
    // Past a sample's length the output and the gate gradients are exactly zero.
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < N; ++b) {
        if (sc.lengths.empty() || t < sc.lengths[size_t(b)]) continue;
        for (int64_t j = 0; j < H; ++j)
          if (got_y[size_t((t * N + b) * H + j)] != 0.0f && bad++ == 0) first = "y padding";
        for (int64_t j = 0; j < G; ++j)
          if (got_dg[size_t((t * N + b) * G + j)] != 0.0f && bad++ == 0) first = "dgates padding";
      }
    EXPECT_EQ(bad, 0) << "T " << T << " N " << N << " I " << I << " H " << H << " reverse "
                      << sc.reverse << " lengths " << !sc.lengths.empty() << ": " << first;
  }
}

// Without bias, initial state, dy, y or lengths, and with only w_hh's gradient requested (no
// dh_prev GEMM at the first step): what is computed still matches the reference with zeros in
// place of the absent inputs.
TEST(CudaLstmSeq, OptionalArgumentsAbsent) {
  for (bool reverse : {false, true}) {
    const LstmSeqDesc d{5, 3, 4, 7, reverse};
    const int64_t T = d.steps, N = d.batch, I = d.input, H = d.hidden, G = 4 * H;
    const size_t nh = size_t(N * H), tnh = size_t(T) * nh, tng = size_t(T * N * G);
    const float k = 1.0f / std::sqrt(float(H));
    const std::vector<float> x = uniform(size_t(T * N * I), 1.0f, 71 + reverse),
                             w_ih = uniform(size_t(G * I), k, 72),
                             w_hh = uniform(size_t(G * H), k, 73), dh_n = uniform(nh, 1.0f, 74),
                             dc_n = uniform(nh, 1.0f, 75);
    DeviceBuffer<float> dx(x), dw_ih(w_ih), dw_hh(w_hh), act(tng), hbuf(tnh + nh), cbuf(tnh + nh),
        dgates(tng), gw_hh(w_hh.size()), gdh(dh_n), gdc(dc_n);
    const LstmSeqForward fwd{act.get(), hbuf.get(), cbuf.get(), nullptr};
    ASSERT_EQ(lstm_seq_forward_f32(d, nullptr, dx.get(), dw_ih.get(), dw_hh.get(), nullptr, nullptr,
                                   nullptr, fwd),
              cudaSuccess);
    LstmSeqGrads g;
    g.w_hh = gw_hh.get(), g.dh = gdh.get(), g.dc = gdc.get(), g.dgates = dgates.get();
    ASSERT_EQ(
        lstm_seq_backward_f32(d, nullptr, dx.get(), dw_ih.get(), dw_hh.get(), fwd, nullptr, g),
        cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();

    const std::vector<double> zeros_g(size_t(G), 0.0), zeros_nh(nh, 0.0), zeros_tnh(tnh, 0.0);
    const RefLayer r = reference_layer(d, nullptr, widen(x), widen(w_ih), widen(w_hh), zeros_g,
                                       zeros_nh, zeros_nh, zeros_tnh, widen(dh_n), widen(dc_n));
    const double ulps = double(T) * double(T * N + I + H + kCellUlps);
    std::string first;
    const int64_t bad = mismatches(act.read(), r.act, ulps, "act", first) +
                        mismatches(hbuf.read(), r.hbuf, ulps, "hbuf", first) +
                        mismatches(cbuf.read(), r.cbuf, ulps, "cbuf", first) +
                        mismatches(dgates.read(), r.dgates, ulps, "dgates", first) +
                        mismatches(gw_hh.read(), r.dw_hh, ulps, "dw_hh", first) +
                        mismatches(gdc.read(), r.dc, ulps, "dc0", first);
    EXPECT_EQ(bad, 0) << "reverse " << reverse << ": " << first;
  }
}

}  // namespace
}  // namespace signet::cuda
