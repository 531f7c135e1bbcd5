// Truncated BPTT (k = T is full BPTT exactly; k < T stops gradients at chunk boundaries; chunk
// sizes, lengths and the carried state; the (k1, k2) form: k1 = k2 is the k form, gradients
// reach exactly k2 steps back) and gradient clipping (torch.nn.utils semantics: the
// pre-clip norm is returned, the result has the requested norm, NaN/Inf is reported and not
// applied, clipping by value).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/lstm.h"
#include "engine/nn/tbptt.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/optim/clip_grad.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using nn::LSTM;
using nn::LstmOptions;
using nn::LstmState;
using nn::TbpttChunk;
using testing::expect_error;
using testing::random_f64;

// A small f64 LSTM.
LstmOptions small(bool batch_first = false) {
  LstmOptions o;
  o.input_size = 3;
  o.hidden_size = 4;
  o.num_layers = 2;
  o.batch_first = batch_first;
  o.dtype = DType::f64;
  return o;
}

// The values of every parameter gradient of m, in order.
std::vector<std::vector<double>> grads_of(const LSTM& m) {
  std::vector<std::vector<double>> out;
  for (const Tensor& p : m.parameters()) out.push_back(p.grad().to_vector<double>());
  return out;
}

// The global L2 norm of the gradients of params.
double grad_norm(const std::vector<Tensor>& params) {
  double s = 0;
  for (const Tensor& p : params)
    for (double v : p.grad().to(DType::f64).to_vector<double>()) s += v * v;
  return std::sqrt(s);
}

TEST(Tbptt, KEqualToTIsFullBpttExactly) {
  for (bool batch_first : {false, true}) {
    SCOPED_TRACE(batch_first ? "batch_first" : "time-major");
    LSTM m(small(batch_first));
    const int64_t time_dim = batch_first ? 1 : 0;
    Tensor x = random_f64(batch_first ? Shape{2, 6, 3} : Shape{6, 2, 3}, -1, 1, 1);
    Tensor probe = random_f64(batch_first ? Shape{2, 6, 4} : Shape{6, 2, 4}, -1, 1, 2);
    Tensor lengths = from_vector<int64_t>({6, 4});
    auto [out, hc] = m.forward(x, {}, lengths);
    sum(out * probe).backward();
    auto full = grads_of(m);
    m.zero_grad();
    int chunks = 0;
    LstmState last = nn::truncated_bptt(
        m, x, 6,
        [&](const TbpttChunk& c) {
          ++chunks;
          EXPECT_TRUE(c.last);
          sum(c.output * probe.narrow(time_dim, c.start, c.steps)).backward();
        },
        {}, lengths);
    EXPECT_EQ(chunks, 1);
    EXPECT_EQ(grads_of(m), full);
    EXPECT_EQ(last.h.to_vector<double>(), hc.h.to_vector<double>());
    EXPECT_FALSE(last.h.requires_grad());
  }
}

TEST(Tbptt, NoGradientReachesBeyondKSteps) {
  LSTM m(small());
  const int64_t T = 7, k = 3;
  Tensor x = random_f64({T, 2, 3}, -1, 1, 3);
  x.requires_grad_();
  Tensor h0 = random_f64({2, 2, 4}, -1, 1, 4), c0 = random_f64({2, 2, 4}, -1, 1, 5);
  h0.requires_grad_();
  c0.requires_grad_();
  std::vector<int64_t> sizes;
  nn::truncated_bptt(
      m, x, k,
      [&](const TbpttChunk& c) {
        sizes.push_back(c.steps);
        EXPECT_EQ(c.last, c.start + c.steps == T);
        x.zero_grad();
        sum(c.output.narrow(0, c.steps - 1, 1)).backward();  // the chunk's last step only
        std::vector<double> g = x.grad().to_vector<double>();
        for (int64_t t = 0; t < T; ++t) {
          double s = 0;
          for (int64_t j = 0; j < 6; ++j) s += std::abs(g[t * 6 + j]);
          if (t >= c.start && t < c.start + c.steps)
            EXPECT_GT(s, 0) << "chunk " << c.index << " step " << t;
          else
            EXPECT_EQ(s, 0) << "chunk " << c.index << " step " << t;
        }
        EXPECT_TRUE(h0.grad().defined());
      },
      {h0, c0});
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 1}));
  // Positive control: without truncation the last step's loss reaches step 0.
  x.zero_grad();
  sum(m.forward(x, {h0, c0}).first.narrow(0, T - 1, 1)).backward();
  EXPECT_GT(std::abs(x.grad().narrow(0, 0, 1).contiguous().to_vector<double>()[0]), 0);
}

TEST(Tbptt, StateAfterChunksEqualsFullRunAndInitialStateGetsOnlyFirstChunkGradient) {
  LSTM m(small());
  Tensor x = random_f64({7, 2, 3}, -1, 1, 6);
  Tensor h0 = random_f64({2, 2, 4}, -1, 1, 7);
  h0.requires_grad_();
  Tensor lengths = from_vector<int64_t>({7, 2});
  auto [out, hc] = m.forward(x, {h0, Tensor()}, lengths);
  std::vector<std::vector<int64_t>> chunk_lengths;
  std::vector<double> h0_grad_after_first;
  LstmState last = nn::truncated_bptt(
      m, x, 3,
      [&](const TbpttChunk& c) {
        chunk_lengths.push_back(c.lengths.to_vector<int64_t>());
        EXPECT_EQ(c.output.to_vector<double>(),
                  out.narrow(0, c.start, c.steps).contiguous().to_vector<double>());
        sum(c.output).backward();
        if (c.index == 0) h0_grad_after_first = h0.grad().to_vector<double>();
      },
      {h0, Tensor()}, lengths);
  EXPECT_EQ(chunk_lengths, (std::vector<std::vector<int64_t>>{{3, 2}, {3, 0}, {1, 0}}));
  EXPECT_EQ(last.h.to_vector<double>(), hc.h.to_vector<double>());
  EXPECT_EQ(last.c.to_vector<double>(), hc.c.to_vector<double>());
  EXPECT_EQ(h0.grad().to_vector<double>(), h0_grad_after_first);
}

TEST(Tbptt, RejectsBadChunkLength) {
  LSTM m(small());
  expect_error(
      [&] {
        nn::truncated_bptt(m, random_f64({4, 2, 3}), 0, [](const TbpttChunk&) {});
      },
      {"truncated_bptt", "k"});
}

// Each chunk's output, start, steps and new steps, and the parameter gradients after a loss
// sum(output * probe) per chunk, from the (k1, k2) form (k2 = 0: the k form with k = k1).
struct ChunkRun {
  std::vector<std::vector<double>> outputs, grads;
  std::vector<std::vector<int64_t>> shapes;  // {start, steps, new_steps} per chunk
  std::vector<double> last_h;
};

ChunkRun run_chunks(LSTM& m, const Tensor& x, const Tensor& probe, const Tensor& lengths,
                    int64_t k1, int64_t k2) {
  m.zero_grad();
  ChunkRun r;
  auto on_chunk = [&](const TbpttChunk& c) {
    r.outputs.push_back(c.output.contiguous().to_vector<double>());
    r.shapes.push_back({c.start, c.steps, c.new_steps});
    sum(c.output * probe.narrow(0, c.start, c.steps)).backward();
  };
  LstmState last = k2 == 0 ? nn::truncated_bptt(m, x, k1, on_chunk, {}, lengths)
                           : nn::truncated_bptt(m, x, k1, k2, on_chunk, {}, lengths);
  r.grads = grads_of(m);
  r.last_h = last.h.to_vector<double>();
  return r;
}

TEST(TbpttK1K2, K1EqualToK2IsTheKForm) {
  LSTM m(small());
  Tensor x = random_f64({7, 2, 3}, -1, 1, 30), probe = random_f64({7, 2, 4}, -1, 1, 31);
  Tensor lengths = from_vector<int64_t>({7, 5});
  const ChunkRun k_form = run_chunks(m, x, probe, lengths, 3, 0);
  const ChunkRun general = run_chunks(m, x, probe, lengths, 3, 3);
  EXPECT_EQ(general.shapes, (std::vector<std::vector<int64_t>>{{0, 3, 3}, {3, 3, 3}, {6, 1, 1}}));
  EXPECT_EQ(general.shapes, k_form.shapes);
  EXPECT_EQ(general.outputs, k_form.outputs);
  EXPECT_EQ(general.grads, k_form.grads);
  EXPECT_EQ(general.last_h, k_form.last_h);
}

TEST(TbpttK1K2, ChunksOverlapAndGradientsReachExactlyK2StepsBack) {
  LSTM m(small());
  const int64_t T = 9, k1 = 2, k2 = 5;
  Tensor x = random_f64({T, 2, 3}, -1, 1, 32);
  x.requires_grad_();
  auto [full, hc] = m.forward(x);
  std::vector<std::vector<int64_t>> shapes;
  LstmState last = nn::truncated_bptt(m, x, k1, k2, [&](const TbpttChunk& c) {
    shapes.push_back({c.start, c.steps, c.new_steps});
    EXPECT_EQ(c.last, c.start + c.steps == T);
    // the carried state makes every chunk's output the full run's
    testing::expect_close(c.output, full.narrow(0, c.start, c.steps), 1e-13, "chunk output");
    x.zero_grad();
    sum(c.output.narrow(0, c.steps - 1, 1)).backward();  // the chunk's last step only
    // a full chunk spans k2 steps (fewer at the start); the last, partial one k2 - k1 + new
    const int64_t end = c.start + c.steps, reach = c.start;
    EXPECT_EQ(c.steps, c.last ? k2 - k1 + c.new_steps : std::min(k2, end));
    std::vector<double> g = x.grad().to_vector<double>();
    for (int64_t t = 0; t < T; ++t) {
      double s = 0;
      for (int64_t j = 0; j < 6; ++j) s += std::abs(g[t * 6 + j]);
      if (t >= reach && t < end)
        EXPECT_GT(s, 0) << "chunk " << c.index << " step " << t;
      else
        EXPECT_EQ(s, 0) << "chunk " << c.index << " step " << t;
    }
  });
  // new steps [0,2) [2,4) [4,6) [6,8) [8,9), each with up to k2 - k1 = 3 steps before them
  EXPECT_EQ(shapes, (std::vector<std::vector<int64_t>>{
                        {0, 2, 2}, {0, 4, 2}, {1, 5, 2}, {3, 5, 2}, {5, 4, 1}}));
  EXPECT_EQ(last.h.to_vector<double>(), hc.h.detach().to_vector<double>());
  EXPECT_FALSE(last.h.requires_grad());
}

TEST(TbpttK1K2, InitialStateGetsGradientFromEveryChunkStartingAtZero) {
  LSTM m(small());
  Tensor x = random_f64({6, 2, 3}, -1, 1, 33);
  Tensor h0 = random_f64({2, 2, 4}, -1, 1, 34);
  h0.requires_grad_();
  std::vector<bool> reached;
  nn::truncated_bptt(m, x, 1, 3,
                     [&](const TbpttChunk& c) {
                       h0.zero_grad();
                       sum(c.output.narrow(0, c.steps - 1, 1)).backward();
                       reached.push_back(h0.grad().defined());
                     },
                     {h0, Tensor()});
  // chunks start at 0, 0, 0, 1, 2, 3: the first three run from h0
  EXPECT_EQ(reached, (std::vector<bool>{true, true, true, false, false, false}));
}

TEST(TbpttK1K2, RejectsK2BelowK1) {
  LSTM m(small());
  expect_error(
      [&] {
        nn::truncated_bptt(m, random_f64({4, 2, 3}), 3, 2, [](const TbpttChunk&) {});
      },
      {"truncated_bptt", "k2 = 2", "k1 = 3"});
}

// Two leaf parameters with gradients (3, 4) and (12): global L2 norm 13.
std::vector<Tensor> params_with_grads(double a = 3, double b = 4, double c = 12) {
  Tensor p = zeros({2}, DType::f64), q = zeros({1, 1}, DType::f64), r = zeros({3}, DType::f64);
  p.requires_grad_();
  q.requires_grad_();
  r.requires_grad_();  // no gradient: skipped
  p.set_grad(from_vector<double>({a, b}));
  q.set_grad(from_vector<double>({c}, {1, 1}));
  return {p, q, r};
}

TEST(ClipGradNorm, ScalesToTheRequestedNormAndReturnsThePreClipNorm) {
  std::vector<Tensor> ps = params_with_grads();
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(ps, 6.5), 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);  // torch.nn.utils.clip_grad_norm_'s coefficient
  EXPECT_DOUBLE_EQ(ps[0].grad().to_vector<double>()[0], 3 * coef);
  EXPECT_DOUBLE_EQ(ps[1].grad().to_vector<double>()[0], 12 * coef);
  EXPECT_NEAR(grad_norm({ps[0], ps[1]}), 6.5, 1e-6);
  EXPECT_FALSE(ps[2].grad().defined());
}

TEST(ClipGradNorm, BelowTheLimitNothingChanges) {
  std::vector<Tensor> ps = params_with_grads();
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(ps, 20), 13.0);
  EXPECT_EQ(ps[0].grad().to_vector<double>(), (std::vector<double>{3, 4}));
  EXPECT_EQ(ps[1].grad().to_vector<double>(), (std::vector<double>{12}));
}

TEST(ClipGradNorm, OtherNormTypes) {
  std::vector<Tensor> ps = params_with_grads(3, -4, 12);
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(ps, 100, optim::kInfNorm), 12.0);
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(ps, 100, 1.0), 19.0);
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(ps, 6, optim::kInfNorm), 12.0);
  EXPECT_NEAR(ps[1].grad().to_vector<double>()[0], 6.0, 1e-6);
  expect_error([&] { optim::clip_grad_norm_(ps, 1, 0.5); }, {"clip_grad_norm_", "norm_type"});
}

TEST(ClipGradNorm, NonFiniteNormIsReportedNotApplied) {
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    std::vector<Tensor> ps = params_with_grads(3, bad, 12);
    const double norm = optim::clip_grad_norm_(ps, 1.0);
    EXPECT_FALSE(std::isfinite(norm));
    EXPECT_EQ(ps[1].grad().to_vector<double>(), (std::vector<double>{12}));
    EXPECT_EQ(ps[0].grad().to_vector<double>()[0], 3);
    expect_error([&] { optim::clip_grad_norm_(ps, 1.0, 2.0, true); },
                 {"clip_grad_norm_", "left unchanged"});
    EXPECT_EQ(ps[1].grad().to_vector<double>(), (std::vector<double>{12}));
  }
}

TEST(ClipGradNorm, ClipsAnLstmsGradientsAfterBackward) {
  LSTM m(small());
  Tensor x = random_f64({5, 2, 3}, -4, 4, 8);
  sum(m.forward(x).first * 10.0).backward();
  const double before = grad_norm(m.parameters());
  EXPECT_NEAR(optim::clip_grad_norm_(m.parameters(), 0.25), before, 1e-12 * before);
  EXPECT_NEAR(grad_norm(m.parameters()), 0.25, 1e-6);
}

TEST(ClipGradValue, ClampsEveryElement) {
  std::vector<Tensor> ps = params_with_grads(3, -4, 12);
  optim::clip_grad_value_(ps, 3.5);
  EXPECT_EQ(ps[0].grad().to_vector<double>(), (std::vector<double>{3, -3.5}));
  EXPECT_EQ(ps[1].grad().to_vector<double>(), (std::vector<double>{3.5}));
  expect_error([&] { optim::clip_grad_value_(ps, -1); }, {"clip_grad_value_"});
}

}  // namespace
}  // namespace signet
