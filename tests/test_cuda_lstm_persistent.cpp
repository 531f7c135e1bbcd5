// The persistent LSTM forward (kernels/cuda/lstm_persistent.h) in the host SIMT mode, every block
// co-resident on its own thread, against the per-step driver lstm_seq (itself checked against the
// CPU reference in double by tests/test_cuda_lstm.cpp): forward buffers (act, hbuf, cbuf, y) and,
// through the reused lstm_seq_backward_f32, every gradient, on odd sizes (batch 1, 3, 7; hidden
// 5, 33, 67, and 261 for h_{t-1} in three chunks; input 3, 19; T 1, 4, 9), with and without lengths
// (zero and full included), both directions, several blocks (units per block forced small, so that
// every step reads other blocks' h_{t-1} across the grid barrier) and each thread order between
// barriers. The engine path against the CPU LSTM: tests/test_cuda_lstm_persistent_op.cpp.
//
// Tolerance. Both paths sum the recurrent product in the same order (fused multiply-adds over k
// from 0, as the v3 GEMM's register tile) and add it to the same input projection, then run the
// same cell functions, so the forward agrees bit for bit here; the bound allowed, 8 u (1 + |ref|)
// with u = 2^-24 per step, leaves room for a compiler contracting the cell's products
// differently, and a step reading a stale h_{t-1} errs by ~1e-2 or more. The gradients of
// identical buffers through one backward are identical; the same per-step bound applies.
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_compat.h"
#include "kernels/cuda/lstm_persistent.h"
#include "kernels/cuda/lstm_seq.h"
#include "tests/test_lstm_inputs.h"
#include "tests/test_simt_buffer.h"
#include "tests/test_simt_order.h"

namespace signet::cuda {
namespace {

constexpr double kUnit = 1.0 / (1 << 24);

// Counts elements of got outside ulps * u * (1 + |want|) of want, naming the first in `first`.
int64_t mismatches(const std::vector<float>& got, const std::vector<float>& want, double ulps,
                   const std::string& what, std::string& first) {
  int64_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double tol = ulps * kUnit * (1.0 + std::fabs(double(want[i])));
    if (!(std::fabs(double(got[i]) - double(want[i])) <= tol) && bad++ == 0 && first.empty())
      first = what + "[" + std::to_string(i) + "] = " + std::to_string(got[i]) + ", want " +
              std::to_string(want[i]) + " +- " + std::to_string(tol);
  }
  return bad;
}

// One case: sizes, lengths (empty: none), direction and units per block (0: the automatic plan).
struct Case {
  int64_t t, n, i, h;
  std::vector<int64_t> lengths;
  bool reverse;
  int64_t units;
};

const Case kCases[] = {
    {4, 1, 3, 5, {}, false, 2},
    {9, 3, 19, 33, {}, true, 4},
    {9, 3, 19, 33, {9, 4, 0}, false, 1},
    {4, 7, 3, 67, {2, 4, 1, 0, 3, 4, 1}, true, 16},
    {1, 7, 19, 5, {1, 0, 1, 1, 0, 1, 1}, false, 1},
    {4, 3, 3, 67, {}, false, 0},
    {9, 1, 19, 67, {6}, true, 8},
    {1, 3, 3, 33, {}, true, 0},
    {2, 2, 3, 261, {2, 1}, false, 32},
};

// The forward buffers and gradients of one path (persistent or lstm_seq) on the same inputs.
struct Layer {
  Layer(int64_t T, int64_t N, int64_t I, int64_t H, const std::vector<float>& dh_n,
        const std::vector<float>& dc_n)
      : act(size_t(T * N * 4 * H)),
        hbuf(size_t((T + 1) * N * H)),
        cbuf(size_t((T + 1) * N * H)),
        y(size_t(T * N * H)),
        dgates(size_t(T * N * 4 * H)),
        gx(size_t(T * N * I)),
        gw_ih(size_t(4 * H * I)),
        gw_hh(size_t(4 * H * H)),
        gbias(size_t(4 * H)),
        gdh(dh_n),
        gdc(dc_n) {}
  // The forward buffers as the kernels take them.
  LstmSeqForward forward() const { return {act.get(), hbuf.get(), cbuf.get(), y.get()}; }
  // Every gradient, dh0 included.
  LstmSeqGrads grads() const {
    LstmSeqGrads g;
    g.x = gx.get(), g.w_ih = gw_ih.get(), g.w_hh = gw_hh.get(), g.bias = gbias.get();
    g.dh = gdh.get(), g.dc = gdc.get(), g.dgates = dgates.get(), g.need_h0 = true;
    return g;
  }
  DeviceBuffer<float> act, hbuf, cbuf, y, dgates, gx, gw_ih, gw_hh, gbias, gdh, gdc;
};

// Runs each test under one order of the threads between barriers.
class CudaLstmPersistent : public SimtOrderTest {};

TEST_P(CudaLstmPersistent, ForwardAndGradientsMatchPerStepDriver) {
  for (const Case& sc : kCases) {
    const LstmSeqDesc d{sc.t, sc.n, sc.i, sc.h, sc.reverse};
    const int64_t T = sc.t, N = sc.n, I = sc.i, H = sc.h;
    const uint32_t seed = uint32_t(T * 1000 + N * 100 + H + sc.reverse);
    const LstmLayerInputs in(d, seed);
    const std::vector<float>&x = in.x, &w_ih = in.w_ih, &w_hh = in.w_hh, &bias = in.bias,
          &h0 = in.h0, &c0 = in.c0, &dy = in.dy, &dh_n = in.dh_n, &dc_n = in.dc_n;
    DeviceBuffer<float> dx(x), dw_ih(w_ih), dw_hh(w_hh), dbias(bias), dh0(h0), dc0(c0), ddy(dy);
    DeviceBuffer<int64_t> lens(sc.lengths.empty() ? std::vector<int64_t>{0} : sc.lengths);
    const int64_t* lp = sc.lengths.empty() ? nullptr : lens.get();
    Layer got(T, N, I, H, dh_n, dc_n), want(T, N, I, H, dh_n, dc_n);
    ASSERT_EQ(lstm_persistent_forward_f32(d, lp, dx.get(), dw_ih.get(), dw_hh.get(), dbias.get(),
                                          dh0.get(), dc0.get(), got.forward(), sc.units),
              cudaSuccess);
    ASSERT_EQ(lstm_seq_forward_f32(d, lp, dx.get(), dw_ih.get(), dw_hh.get(), dbias.get(),
                                   dh0.get(), dc0.get(), want.forward()),
              cudaSuccess);
    for (Layer* l : {&got, &want})
      ASSERT_EQ(lstm_seq_backward_f32(d, lp, dx.get(), dw_ih.get(), dw_hh.get(), l->forward(),
                                      ddy.get(), l->grads()),
                cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();

    const double ulps = 8.0 * double(T);
    std::string first;
    const int64_t bad = mismatches(got.act.read(), want.act.read(), ulps, "act", first) +
                        mismatches(got.hbuf.read(), want.hbuf.read(), ulps, "hbuf", first) +
                        mismatches(got.cbuf.read(), want.cbuf.read(), ulps, "cbuf", first) +
                        mismatches(got.y.read(), want.y.read(), ulps, "y", first) +
                        mismatches(got.dgates.read(), want.dgates.read(), ulps, "dgates", first) +
                        mismatches(got.gx.read(), want.gx.read(), ulps, "dx", first) +
                        mismatches(got.gw_ih.read(), want.gw_ih.read(), ulps, "dw_ih", first) +
                        mismatches(got.gw_hh.read(), want.gw_hh.read(), ulps, "dw_hh", first) +
                        mismatches(got.gbias.read(), want.gbias.read(), ulps, "dbias", first) +
                        mismatches(got.gdh.read(), want.gdh.read(), ulps, "dh0", first) +
                        mismatches(got.gdc.read(), want.gdc.read(), ulps, "dc0", first);
    EXPECT_EQ(bad, 0) << "T " << T << " N " << N << " I " << I << " H " << H << " reverse "
                      << sc.reverse << " lengths " << !sc.lengths.empty() << " units " << sc.units
                      << ": " << first;
  }
}

SIGNET_SIMT_ORDERS(CudaLstmPersistent);

TEST(CudaLstmPersistentPlan, SplitsHiddenUnitsOverBlocks) {
  LstmPersistentPlan p;
  ASSERT_EQ(lstm_persistent_plan(7, 67, 16, &p), cudaSuccess);
  EXPECT_EQ(p.units, 16);
  EXPECT_EQ(p.blocks, 5);
  EXPECT_EQ(p.threads, 128);
  EXPECT_EQ(p.shared_bytes, size_t(4 * 16 * 67 + 7 * 67 + 4 * 16 * 7) * sizeof(float));
  ASSERT_EQ(lstm_persistent_plan(32, 64, 100, &p), cudaSuccess);
  EXPECT_EQ(p.units, 64);
  EXPECT_EQ(p.blocks, 1);
  EXPECT_EQ(p.threads, 256);
  EXPECT_EQ(p.shared_bytes, size_t(4 * 64 * 65 + 32 * 65 + 4 * 64 * 32) * sizeof(float));
  ASSERT_EQ(lstm_persistent_plan(3, 300, 10, &p), cudaSuccess);
  EXPECT_EQ(p.blocks, 30);
  EXPECT_EQ(p.shared_bytes, size_t(4 * 10 * 301 + 3 * 129 + 4 * 10 * 3) * sizeof(float));
  ASSERT_EQ(lstm_persistent_plan(3, 33, 0, &p), cudaSuccess);
  cudaDeviceProp prop;
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_LE(p.blocks, prop.multiProcessorCount);
  EXPECT_GE(p.units * p.blocks, 33);
  EXPECT_TRUE(lstm_persistent_fits(32, 64));
}

TEST(CudaLstmPersistentPlan, RefusesWhatDoesNotFitAndLaunchesNothing) {
  LstmPersistentPlan p;
  EXPECT_EQ(lstm_persistent_plan(33, 8, 0, &p), cudaErrorInvalidValue);
  EXPECT_FALSE(lstm_persistent_fits(33, 8));
  // 2048 units over at most a few hundred SMs: each block's W_hh rows exceed 227 KiB.
  EXPECT_EQ(lstm_persistent_plan(32, 2048, 0, &p), cudaErrorInvalidConfiguration);
  EXPECT_FALSE(lstm_persistent_fits(32, 2048));
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  // One unit per block for 300 units: more blocks than a cooperative launch may have.
  const LstmSeqDesc d{2, 1, 1, 300, false};
  DeviceBuffer<float> w_hh(size_t(4 * 300 * 300)), act(size_t(2 * 4 * 300)), hbuf(size_t(3 * 300)),
      cbuf(size_t(3 * 300));
  EXPECT_EQ(lstm_persistent_steps_f32(d, nullptr, w_hh.get(),
                                      {act.get(), hbuf.get(), cbuf.get(), nullptr}, 1),
            cudaErrorCooperativeLaunchTooLarge);
  EXPECT_EQ(cudaGetLastError(), cudaErrorCooperativeLaunchTooLarge);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
}  // namespace signet::cuda
