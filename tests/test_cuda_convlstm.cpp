// The device ConvLSTM kernels in the host SIMT mode. convlstm_step.h's v1 (unfused) and v2
// (fused cell) steps against the cell math in double; convlstm_fused.h's v3 layer (the h-path
// convolution with the gates in its epilogue) forward and backward against the CPU nn::ConvLSTM
// of the same weights: outputs, last state and every gradient (x, conv weight and bias,
// peepholes), without peepholes, per channel and per position, with variable lengths (0 and T
// included), on odd sizes with one and two 128-row tiles (hid 5 and 37) and columns past one tile.
//
// Tolerance. Both sides are f32 with different summation orders (the CPU's convolution against
// the implicit GEMM; the CPU composes the gate math of elementwise ops). One gate sums
// k^2 (C + hid) <= 360 products of magnitude <= 1, whose worst-case error is gamma_360 ~ 2e-5 of
// the sum of their magnitudes (Higham 3.1); through T <= 4 steps with derivatives bounded by 1 the
// outputs and states are held to 2e-5 (1 + |ref|). The gradients of the weights add T N H W <= 756
// products of such terms: 2e-4 (1 + |ref|). Measured here: outputs within 6e-8, gradients within
// 2e-6 (random rounding errors cancel); a wrong gate, peephole or tap errs by 1e-2 or more.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/conv_lstm.h"
#include "engine/ops.h"
#include "engine/tensor.h"

// After the engine's headers: from here on the token cuda names the simt build (cuda_compat.h).
#define SIGNET_CUDA_SIMT 1
#include "kernels/common/lstm_cell.h"
#include "kernels/cuda/convlstm_fused.h"
#include "kernels/cuda/convlstm_step.h"
#include "tests/test_simt_buffer.h"

namespace signet {
namespace {

using Buffer = cuda::DeviceBuffer<float>;
using cuda::uniform;

// Expects |got - want| <= tol (1 + |want|) everywhere; reports the worst element.
void expect_near(const std::vector<float>& got, const std::vector<float>& want, double tol,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double gap = std::fabs(double(got[i]) - want[i]) / (1 + std::fabs(double(want[i])));
    if (gap > worst) worst = gap, at = i;
  }
  EXPECT_LE(worst, tol) << what << ": element " << at << " is " << got[at] << ", expected "
                        << want[at];
}

TEST(CudaConvLstmStep, UnfusedAndFusedCellMatchTheCellMath) {
  const cuda::ConvLstmStepDesc d{3, 5, 7};
  const int64_t U = d.hidden * d.plane, G = 4 * U;
  const std::vector<float> gx = uniform(size_t(d.batch * G), 1.5f, 1),
                           gh = uniform(size_t(d.batch * G), 1.5f, 2),
                           bias = uniform(size_t(4 * d.hidden), 0.5f, 3),
                           cp = uniform(size_t(d.batch * U), 1.0f, 4);
  std::vector<float> want_act(gx.size()), want_c(cp.size()), want_h(cp.size());
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t j = 0; j < U; ++j) {
      double a[4];
      for (int q = 0; q < 4; ++q) {
        const size_t e = size_t(b * G + q * U + j);
        a[q] = double(gx[e]) + gh[e] + bias[size_t(q * d.hidden + j / d.plane)];
      }
      double i, f, g, o, c, h;
      kernels::lstm_gates(a[0], a[1], a[2], a[3], i, f, g, o);
      kernels::lstm_state(i, f, g, o, double(cp[size_t(b * U + j)]), c, h);
      const double act[4] = {i, f, g, o};
      for (int q = 0; q < 4; ++q) want_act[size_t(b * G + q * U + j)] = float(act[q]);
      want_c[size_t(b * U + j)] = float(c);
      want_h[size_t(b * U + j)] = float(h);
    }
  Buffer dgx(gx), dgh(gh), dbias(bias), dcp(cp);
  for (int version : {1, 2}) {
    Buffer act(gx.size()), c(cp.size()), h(cp.size());
    const cuda::cudaError_t e =
        version == 1
            ? cuda::convlstm_v1_unfused_step_f32(d, dgx.get(), dgh.get(), dbias.get(), dcp.get(),
                                                 act.get(), c.get(), h.get())
            : cuda::convlstm_v2_fused_cell_step_f32(d, dgx.get(), dgh.get(), dbias.get(), dcp.get(),
                                                    act.get(), c.get(), h.get());
    ASSERT_EQ(e, cuda::cudaSuccess);
    const std::string v = "v" + std::to_string(version);
    expect_near(act.read(), want_act, 1e-6, v + " act");
    expect_near(c.read(), want_c, 1e-6, v + " c");
    expect_near(h.read(), want_h, 1e-6, v + " h");
  }
}

// The values of a cpu tensor as floats.
std::vector<float> values(const Tensor& t) {
  return t.contiguous().to_vector<float>();
}

// Rows of a (4 hid, rest) array in gate order (i, f, o, g) reordered to (i, f, g, o) (forward) or
// back (inverse); rest values a row.
std::vector<float> reorder_gates(const std::vector<float>& v, int64_t hid, bool inverse) {
  const int64_t rest = int64_t(v.size()) / (4 * hid);
  const int64_t from_block[4] = {0, 1, 3, 2};  // the ifgo block q comes from ifog block from[q]
  std::vector<float> out(v.size());
  for (int q = 0; q < 4; ++q) {
    const int64_t src = inverse ? q : from_block[q], dst = inverse ? from_block[q] : q;
    std::copy_n(v.begin() + src * hid * rest, hid * rest, out.begin() + dst * hid * rest);
  }
  return out;
}

// Columns [first, first + count) of each row of a (rows, cols, taps) array.
std::vector<float> columns(const std::vector<float>& v, int64_t rows, int64_t cols, int64_t taps,
                           int64_t first, int64_t count) {
  std::vector<float> out;
  for (int64_t r = 0; r < rows; ++r)
    out.insert(out.end(), v.begin() + (r * cols + first) * taps,
               v.begin() + (r * cols + first + count) * taps);
  return out;
}

// One configuration: sizes, peephole mode (0, 1 per channel, 2 per position), lengths (empty:
// all T).
struct Config {
  int64_t T, N, C, hid, H, W;
  int peephole;
  std::vector<int64_t> lengths;
};

// Runs the CPU nn::ConvLSTM and the device v3 layer on the same weights and data, forward and
// backward, and compares everything.
void compare_with_cpu(const Config& cf) {
  const int64_t T = cf.T, N = cf.N, C = cf.C, hid = cf.hid, H = cf.H, W = cf.W, K = 3;
  const int64_t P = H * W, U = hid * P, taps = K * K;
  nn::ConvLstmOptions opt;
  opt.input_channels = C;
  opt.hidden_channels = hid;
  opt.kernel_size = K;
  opt.peephole = cf.peephole != 0;
  if (cf.peephole == 2) opt.peephole_positions = {H, W};
  nn::ConvLSTM m(opt);
  const int64_t peep_n = cf.peephole == 2 ? U : hid;
  uint32_t seed = 20;
  for (auto& [name, p] : m.named_parameters())
    if (name.find(".w_c") != std::string::npos) {
      NoGradGuard no_grad;
      p.copy_(from_vector(uniform(size_t(p.numel()), 0.5f, seed++), p.shape()));
    }
  Tensor x = from_vector(uniform(size_t(T * N * C * P), 1.0f, 5), {T, N, C, H, W});
  x.requires_grad_();
  const Tensor lengths = cf.lengths.empty() ? Tensor() : from_vector(cf.lengths, {N});
  auto [out, state] = m.forward(x, {}, lengths);
  const std::vector<float> gy = uniform(size_t(T * N * U), 1.0f, 6),
                           gh = uniform(size_t(N * U), 1.0f, 7),
                           gc = uniform(size_t(N * U), 1.0f, 8);
  add(add(sum(mul(out, from_vector(gy, out.shape()))),
          sum(mul(state.h[0], from_vector(gh, state.h[0].shape())))),
      sum(mul(state.c[0], from_vector(gc, state.c[0].shape()))))
      .backward();
  std::map<std::string, Tensor> params;
  for (auto& [name, p] : m.named_parameters()) params[name] = p;
  const std::vector<float> weight = values(params["cell_list.0.conv.weight"]);
  const std::vector<float> w_ifgo = reorder_gates(weight, hid, false);

  // The device layer on the same weights, gate rows in (i, f, g, o) order.
  kernels::ConvLstmDesc d;
  d.steps = T;
  d.batch = N;
  d.input = C;
  d.hidden = hid;
  d.height = H;
  d.width = W;
  d.kernel = K;
  d.peephole = cf.peephole;
  Buffer dx_in(values(x)), w_x(columns(w_ifgo, 4 * hid, C + hid, taps, 0, C)),
      w_h(columns(w_ifgo, 4 * hid, C + hid, taps, C, hid)),
      bias(reorder_gates(values(params["cell_list.0.conv.bias"]), hid, false));
  std::vector<float> zeros_peep(size_t(peep_n), 0.0f);
  auto peep_values = [&](const char* name) {
    return cf.peephole ? values(params[std::string("cell_list.0.") + name]) : zeros_peep;
  };
  Buffer ci(peep_values("w_ci")), cfb(peep_values("w_cf")), co(peep_values("w_co"));
  const kernels::ConvLstmPeepholes peep =
      cf.peephole ? kernels::ConvLstmPeepholes{ci.get(), cfb.get(), co.get()}
                  : kernels::ConvLstmPeepholes{};
  cuda::DeviceBuffer<int64_t> lens(cf.lengths.empty() ? std::vector<int64_t>{0} : cf.lengths);
  const int64_t* lens_ptr = cf.lengths.empty() ? nullptr : lens.get();
  Buffer act(size_t(T * N * 4 * U)), hbuf(size_t((T + 1) * N * U)), cbuf(size_t((T + 1) * N * U)),
      y(size_t(T * N * U));
  cuda::DeviceBuffer<unsigned char> ws(std::max<size_t>(cuda::convlstm_seq_workspace_bytes(d), 1));
  const kernels::ConvLstmBuffers fwd{act.get(), hbuf.get(), cbuf.get(), y.get()};
  ASSERT_EQ(cuda::convlstm_v3_fused_forward_f32(d, lens_ptr, dx_in.get(), w_x.get(), w_h.get(),
                                                bias.get(), peep, nullptr, nullptr, fwd, ws.get()),
            cuda::cudaSuccess);
  expect_near(y.read(), values(out), 2e-5, "output");
  const std::vector<float> hs = hbuf.read(), cs = cbuf.read();
  expect_near({hs.end() - N * U, hs.end()}, values(state.h[0]), 2e-5, "h_n");
  expect_near({cs.end() - N * U, cs.end()}, values(state.c[0]), 2e-5, "c_n");

  Buffer dy(gy), dh(gh), dc(gc), dgates(size_t(T * N * 4 * U)), gx(size_t(T * N * C * P)),
      gw_x(size_t(4 * hid * C * taps)), gw_h(size_t(4 * hid * hid * taps)), gbias(size_t(4 * hid)),
      gci(static_cast<size_t>(peep_n)), gcf(static_cast<size_t>(peep_n)),
      gco(static_cast<size_t>(peep_n));
  kernels::ConvLstmGrads g;
  g.x = gx.get();
  g.w_x = gw_x.get();
  g.w_h = gw_h.get();
  g.bias = gbias.get();
  if (cf.peephole) g.ci = gci.get(), g.cf = gcf.get(), g.co = gco.get();
  g.dh = dh.get();
  g.dc = dc.get();
  g.dgates = dgates.get();
  ASSERT_EQ(cuda::convlstm_v3_fused_backward_f32(d, lens_ptr, dx_in.get(), w_x.get(), w_h.get(),
                                                 peep, fwd, dy.get(), g, ws.get()),
            cuda::cudaSuccess);
  expect_near(gx.read(), values(x.grad()), 2e-4, "dx");
  // The device's (w_x | w_h) gradient rows, joined per row and put back in (i, f, o, g) order.
  const std::vector<float> dwx = gw_x.read(), dwh = gw_h.read();
  std::vector<float> dw;
  for (int64_t r = 0; r < 4 * hid; ++r) {
    dw.insert(dw.end(), dwx.begin() + r * C * taps, dwx.begin() + (r + 1) * C * taps);
    dw.insert(dw.end(), dwh.begin() + r * hid * taps, dwh.begin() + (r + 1) * hid * taps);
  }
  expect_near(reorder_gates(dw, hid, true), values(params["cell_list.0.conv.weight"].grad()), 2e-4,
              "dweight");
  expect_near(reorder_gates(gbias.read(), hid, true),
              values(params["cell_list.0.conv.bias"].grad()), 2e-4, "dbias");
  if (cf.peephole) {
    expect_near(gci.read(), values(params["cell_list.0.w_ci"].grad()), 2e-4, "dw_ci");
    expect_near(gcf.read(), values(params["cell_list.0.w_cf"].grad()), 2e-4, "dw_cf");
    expect_near(gco.read(), values(params["cell_list.0.w_co"].grad()), 2e-4, "dw_co");
  }
}

TEST(CudaConvLstmFused, NoPeepholesWithLengthsMatchesCpu) {
  compare_with_cpu({4, 3, 3, 5, 5, 6, 0, {4, 2, 3}});
}

TEST(CudaConvLstmFused, PerChannelPeepholesTwoRowTilesMatchCpu) {
  compare_with_cpu({3, 3, 2, 37, 7, 9, 1, {}});
}

TEST(CudaConvLstmFused, PerPositionPeepholesWithZeroAndFullLengthsMatchCpu) {
  compare_with_cpu({4, 3, 3, 5, 5, 6, 2, {4, 0, 3}});
}

}  // namespace
}  // namespace signet
