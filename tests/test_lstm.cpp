// LSTM: the fused cell against a composition of engine ops (f32 and f64, odd sizes, padding
// rows), lstm_layer against a step-by-step composition, f64 gradchecks through several steps
// (layers, directions, lengths, initial state, no bias, LSTMCell), outputs and every gradient
// against PyTorch fixtures (tests/fixtures/lstm_*.txt from make_lstm_fixtures.py, including a
// packed variable-length batch), parameter names and init, dropout modes and errors, and every
// "lstm_step_gemm" version (W_hh packed once or per step) giving the same f32 layer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/lstm.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/ops/matmul.h"
#include "engine/ops/reduce.h"
#include "engine/packed_cache.h"
#include "kernels/reference/lstm.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using nn::LSTM;
using nn::LSTMCell;
using nn::LstmOptions;
using nn::LstmState;
using testing::expect_error;
using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;
using Fixture = std::map<std::string, Tensor>;
using testing::expect_close;

// The f64 tensors of tests/fixtures/<name>.txt by name (see make_lstm_fixtures.py).
Fixture load_fixture(const std::string& name) {
  return testing::load_text_fixture(name + ".txt");
}

// Copies the fixture's parameters into m, checking that the names match PyTorch's one to one.
void load_parameters(const nn::Module& m, const Fixture& f) {
  NoGradGuard no_grad;
  size_t fixture_params = 0;
  for (const auto& kv : f) fixture_params += kv.first.rfind("param.", 0) == 0;
  auto named = m.named_parameters();
  ASSERT_EQ(named.size(), fixture_params);
  for (auto& [name, p] : named) {
    ASSERT_TRUE(f.count("param." + name)) << "no PyTorch parameter named " << name;
    Tensor(p).copy_(f.at("param." + name));
  }
}

// Expects every parameter gradient of m to match the fixture's.
void expect_parameter_grads(const nn::Module& m, const Fixture& f, double tol) {
  for (auto& [name, p] : m.named_parameters())
    expect_close(p.grad(), f.at("grad." + name), tol, name);
}

// A leaf copy of fixture tensor key that requires a gradient.
Tensor leaf(const Fixture& f, const std::string& key) {
  Tensor t = f.at(key).clone();
  t.requires_grad_();
  return t;
}

// Runs the nn::LSTM fixture `name` built with opt and checks outputs and all gradients.
void check_lstm_fixture(const std::string& name, const LstmOptions& opt) {
  Fixture f = load_fixture(name);
  LSTM m(opt);
  load_parameters(m, f);
  Tensor x = leaf(f, "x");
  LstmState state;
  if (f.count("h0")) state = {leaf(f, "h0"), leaf(f, "c0")};
  Tensor lengths = f.count("lengths") ? f.at("lengths").to(DType::i64) : Tensor();
  auto [out, hc] = m.forward(x, state, lengths);
  expect_close(out, f.at("out.output"), 1e-12, "output");
  expect_close(hc.h, f.at("out.h_n"), 1e-12, "h_n");
  expect_close(hc.c, f.at("out.c_n"), 1e-12, "c_n");
  Tensor loss = sum(out * f.at("probe.output")) + sum(hc.h * f.at("probe.h_n")) +
                sum(hc.c * f.at("probe.c_n"));
  loss.backward();
  expect_close(x.grad(), f.at("grad.x"), 1e-12, "grad x");
  if (state.h.defined()) {
    expect_close(state.h.grad(), f.at("grad.h0"), 1e-12, "grad h0");
    expect_close(state.c.grad(), f.at("grad.c0"), 1e-12, "grad c0");
  }
  expect_parameter_grads(m, f, 1e-12);
}

// LSTM options for f64 tests.
LstmOptions options(int64_t in, int64_t hidden, int64_t layers = 1, bool bidirectional = false) {
  LstmOptions o;
  o.input_size = in;
  o.hidden_size = hidden;
  o.num_layers = layers;
  o.bidirectional = bidirectional;
  o.dtype = DType::f64;
  return o;
}

// Random f64 LSTM weights for one layer and direction (biases when bias).
LstmWeights random_weights(int64_t in, int64_t hidden, bool bias, uint64_t seed) {
  LstmWeights w;
  w.w_ih = random_f64({4 * hidden, in}, -0.6, 0.6, seed);
  w.w_hh = random_f64({4 * hidden, hidden}, -0.6, 0.6, seed + 1);
  if (bias) {
    w.b_ih = random_f64({4 * hidden}, -0.6, 0.6, seed + 2);
    w.b_hh = random_f64({4 * hidden}, -0.6, 0.6, seed + 3);
  }
  return w;
}

// The weights as a flat list (w_ih, w_hh, then biases if any), for gradcheck inputs.
Inputs flat(const LstmWeights& w) {
  Inputs v{w.w_ih, w.w_hh};
  if (w.b_ih.defined()) v.insert(v.end(), {w.b_ih, w.b_hh});
  return v;
}

// Rebuilds LstmWeights from xs starting at index i (with biases when bias); advances i.
LstmWeights unflat(const Inputs& xs, size_t& i, bool bias) {
  LstmWeights w;
  w.w_ih = xs[i++];
  w.w_hh = xs[i++];
  if (bias) {
    w.b_ih = xs[i++];
    w.b_hh = xs[i++];
  }
  return w;
}

// Every tensor flattened and joined, so gradcheck sees all outputs of a multi-output op.
Tensor joined(const Inputs& ts) {
  Inputs parts;
  for (const Tensor& t : ts) parts.push_back(t.reshape({-1}));
  return cat(parts, 0);
}

// The cell of lstm_cell.h written with engine ops: gates (N, 4H), c_prev (N, H) -> (c, h).
std::pair<Tensor, Tensor> composed_cell(const Tensor& gates, const Tensor& c_prev) {
  const int64_t H = c_prev.size(1);
  Tensor i = sigmoid(gates.narrow(1, 0, H)), f = sigmoid(gates.narrow(1, H, H));
  Tensor g = tanh(gates.narrow(1, 2 * H, H)), o = sigmoid(gates.narrow(1, 3 * H, H));
  Tensor c = f * c_prev + i * g;
  return {c, o * tanh(c)};
}

// Row b of a 2-D tensor as a vector of doubles.
std::vector<double> row(const Tensor& t, int64_t b) {
  return t.narrow(0, b, 1).to(DType::f64).contiguous().to_vector<double>();
}

// Runs the reference fused cell in T (float or double) on f64 data; checks forward and backward
// against the composition on active rows and the pass-through on the inactive one.
template <class T>
void check_fused_cell(double tol) {
  const int64_t N = 3, H = 5;
  const DType dt = dtype_of<T>::value;
  Tensor gates = random_f64({N, 4 * H}, -2, 2, 11), c_prev = random_f64({N, H}, -1, 1, 12);
  Tensor h_prev = random_f64({N, H}, -1, 1, 13);
  Tensor dh = random_f64({N, H}, -1, 1, 14), dc = random_f64({N, H}, -1, 1, 15);
  Tensor dy = random_f64({N, H}, -1, 1, 16);
  const std::vector<int64_t> lengths{2, 1, 5};  // at step 1, row 1 is padding
  const kernels::LstmCellDesc d{N, H, 1};
  Tensor g_t = gates.to(dt).clone(), cp_t = c_prev.to(dt).clone(), hp_t = h_prev.to(dt).clone();
  Tensor act = empty({N, 4 * H}, dt), c = empty({N, H}, dt), h = empty({N, H}, dt);
  Tensor y = empty({N, H}, dt);
  ref::lstm_cell_forward<T>(d, lengths.data(), g_t.data<T>(), cp_t.data<T>(), hp_t.data<T>(),
                            act.data<T>(), c.data<T>(), h.data<T>(), y.data<T>());
  Tensor dh_t = dh.to(dt).clone(), dc_t = dc.to(dt).clone(), dy_t = dy.to(dt).clone();
  Tensor dgates = empty({N, 4 * H}, dt);
  ref::lstm_cell_backward<T>(d, lengths.data(), act.data<T>(), cp_t.data<T>(), c.data<T>(),
                             dy_t.data<T>(), dh_t.data<T>(), dc_t.data<T>(), dgates.data<T>());

  Tensor gl = gates.clone(), cl = c_prev.clone();
  gl.requires_grad_();
  cl.requires_grad_();
  auto [c_want, h_want] = composed_cell(gl, cl);
  sum(h_want * (dh + dy) + c_want * dc).backward();
  for (int64_t b : {0, 2}) {
    SCOPED_TRACE("active row " + std::to_string(b));
    expect_close(c.narrow(0, b, 1), c_want.narrow(0, b, 1), tol, "c");
    expect_close(h.narrow(0, b, 1), h_want.narrow(0, b, 1), tol, "h");
    expect_close(y.narrow(0, b, 1), h_want.narrow(0, b, 1), tol, "y");
    expect_close(dgates.narrow(0, b, 1), gl.grad().narrow(0, b, 1), tol, "dgates");
    expect_close(dc_t.narrow(0, b, 1), cl.grad().narrow(0, b, 1), tol, "dc_prev");
    EXPECT_EQ(row(dh_t, b), std::vector<double>(H, 0.0));
  }
  EXPECT_EQ(row(c, 1), row(cp_t, 1));
  EXPECT_EQ(row(h, 1), row(hp_t, 1));
  EXPECT_EQ(row(y, 1), std::vector<double>(H, 0.0));
  EXPECT_EQ(row(act, 1), std::vector<double>(4 * H, 0.0));
  EXPECT_EQ(row(dgates, 1), std::vector<double>(4 * H, 0.0));
  EXPECT_EQ(row(dh_t, 1), row(dh.to(dt), 1));
  EXPECT_EQ(row(dc_t, 1), row(dc.to(dt), 1));
}

TEST(LstmFusedCell, MatchesCompositionF64) {
  check_fused_cell<double>(1e-14);
}

TEST(LstmFusedCell, MatchesCompositionF32) {
  check_fused_cell<float>(2e-6);
}

TEST(LstmFusedCell, ActivationsMayOverwriteGates) {
  const int64_t N = 3, H = 7;
  Tensor gates = random_f64({N, 4 * H}, -3, 3, 21), c_prev = random_f64({N, H}, -1, 1, 22);
  Tensor act = empty({N, 4 * H}, DType::f64), c = empty({N, H}, DType::f64);
  Tensor h = empty({N, H}, DType::f64), c2 = empty({N, H}, DType::f64);
  Tensor h2 = empty({N, H}, DType::f64), inplace = gates.clone();
  const kernels::LstmCellDesc d{N, H, 0};
  ref::lstm_cell_forward<double>(d, nullptr, gates.data<double>(), c_prev.data<double>(), nullptr,
                                 act.data<double>(), c.data<double>(), h.data<double>(), nullptr);
  ref::lstm_cell_forward<double>(d, nullptr, inplace.data<double>(), c_prev.data<double>(), nullptr,
                                 inplace.data<double>(), c2.data<double>(), h2.data<double>(),
                                 nullptr);
  EXPECT_EQ(inplace.to_vector<double>(), act.to_vector<double>());
  EXPECT_EQ(h2.to_vector<double>(), h.to_vector<double>());
  EXPECT_EQ(c2.to_vector<double>(), c.to_vector<double>());
}

// lstm_layer written step by step with engine ops (time-major x, forward direction).
LstmLayerResult composed_layer(const Tensor& x, const LstmWeights& w, Tensor h, Tensor c) {
  Inputs outs;
  for (int64_t t = 0; t < x.size(0); ++t) {
    Tensor gates = linear(x.narrow(0, t, 1).squeeze(0), w.w_ih, w.b_ih) + linear(h, w.w_hh, w.b_hh);
    std::tie(c, h) = composed_cell(gates, c);
    outs.push_back(h);
  }
  return {stack(outs, 0), h, c};
}

TEST(LstmLayer, MatchesCompositionOfOpsWithGradients) {
  const int64_t T = 4, N = 3, I = 5, H = 3;
  LstmWeights w = random_weights(I, H, true, 30);
  Inputs in = {random_f64({T, N, I}, -1, 1, 31),
               random_f64({N, H}, -1, 1, 32),
               random_f64({N, H}, -1, 1, 33),
               w.w_ih,
               w.w_hh,
               w.b_ih,
               w.b_hh};
  Tensor probe = random_f64({T * N * H + 2 * N * H}, -1, 1, 34);
  std::vector<Inputs> grads;
  std::vector<Tensor> values;
  for (bool fused : {true, false}) {
    Inputs xs;
    for (const Tensor& t : in) {
      xs.push_back(t.clone());
      xs.back().requires_grad_();
    }
    size_t i = 3;
    LstmWeights wx = unflat(xs, i, true);
    LstmLayerResult r =
        fused ? lstm_layer(xs[0], wx, xs[1], xs[2]) : composed_layer(xs[0], wx, xs[1], xs[2]);
    Tensor all = joined({r.output, r.h_n, r.c_n});
    sum(all * probe).backward();
    values.push_back(all);
    grads.emplace_back();
    for (const Tensor& t : xs) grads.back().push_back(t.grad());
  }
  expect_close(values[0], values[1], 1e-14, "outputs");
  for (size_t k = 0; k < in.size(); ++k)
    expect_close(grads[0][k], grads[1][k], 1e-13, "gradient " + std::to_string(k));
}

TEST(LstmLayer, GradcheckOneLayerWithState) {
  LstmWeights w = random_weights(3, 2, true, 40);
  Inputs in = {random_f64({3, 2, 3}, -1, 1, 41), random_f64({2, 2}, -1, 1, 42),
               random_f64({2, 2}, -1, 1, 43)};
  for (const Tensor& t : flat(w)) in.push_back(t);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& xs) {
        size_t i = 3;
        LstmLayerResult r = lstm_layer(xs[0], unflat(xs, i, true), xs[1], xs[2]);
        return joined({r.output, r.h_n, r.c_n});
      },
      in));
}

TEST(LstmLayer, GradcheckReverseWithLengthsAndState) {
  LstmWeights w = random_weights(2, 3, true, 50);
  Tensor lengths = from_vector<int64_t>({3, 1, 0, 2});
  Inputs in = {random_f64({3, 4, 2}, -1, 1, 51), random_f64({4, 3}, -1, 1, 52),
               random_f64({4, 3}, -1, 1, 53)};
  for (const Tensor& t : flat(w)) in.push_back(t);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    EXPECT_TRUE(gradcheck(
        [&](const Inputs& xs) {
          size_t i = 3;
          LstmLayerResult r =
              lstm_layer(xs[0], unflat(xs, i, true), xs[1], xs[2], lengths, reverse);
          return joined({r.output, r.h_n, r.c_n});
        },
        in));
  }
}

// Without h0 the weight gradient of W_hh leaves out the step whose h_prev is h0 = 0 (the first,
// or the last when reverse): checked in both directions, with c0 and lengths.
TEST(LstmLayer, GradcheckWithoutH0BothDirections) {
  LstmWeights w = random_weights(2, 3, true, 57);
  Tensor lengths = from_vector<int64_t>({3, 2, 0});
  Inputs in = {random_f64({3, 3, 2}, -1, 1, 58), random_f64({3, 3}, -1, 1, 59)};
  for (const Tensor& t : flat(w)) in.push_back(t);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    EXPECT_TRUE(gradcheck(
        [&](const Inputs& xs) {
          size_t i = 2;
          LstmLayerResult r =
              lstm_layer(xs[0], unflat(xs, i, true), Tensor(), xs[1], lengths, reverse);
          return joined({r.output, r.h_n, r.c_n});
        },
        in));
  }
}

TEST(LstmLayer, GradcheckOnlyHiddenOutputReached) {
  LstmWeights w = random_weights(2, 2, true, 55);
  Inputs in = {random_f64({3, 2, 2}, -1, 1, 56)};
  for (const Tensor& t : flat(w)) in.push_back(t);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& xs) {
        size_t i = 1;
        return lstm_layer(xs[0], unflat(xs, i, true)).h_n;
      },
      in));
}

TEST(Lstm, GradcheckTwoLayersBidirectionalBatchFirstWithLengthsAndState) {
  LstmOptions o = options(2, 2, 2, true);
  o.batch_first = true;
  Tensor lengths = from_vector<int64_t>({3, 1, 2});
  Inputs in = {random_f64({3, 3, 2}, -1, 1, 60), random_f64({4, 3, 2}, -1, 1, 61),
               random_f64({4, 3, 2}, -1, 1, 62)};
  for (int64_t k = 0; k < 4; ++k)
    for (const Tensor& t : flat(random_weights(k < 2 ? 2 : 4, 2, true, 70 + 10 * k)))
      in.push_back(t);
  EXPECT_TRUE(gradcheck(
      [&](const Inputs& xs) {
        size_t i = 3;
        std::vector<LstmWeights> ws;
        for (int64_t k = 0; k < 4; ++k) ws.push_back(unflat(xs, i, true));
        RngStream rng = dropout_stream(0, 0);
        auto [out, hc] = nn::lstm(o, ws, xs[0], {xs[1], xs[2]}, lengths, false, rng);
        return joined({out, hc.h, hc.c});
      },
      in));
}

TEST(Lstm, GradcheckTwoLayersWithoutBiasOrState) {
  LstmOptions o = options(3, 2, 2);
  o.bias = false;
  Inputs in = {random_f64({4, 2, 3}, -1, 1, 80)};
  for (const Tensor& t : flat(random_weights(3, 2, false, 81))) in.push_back(t);
  for (const Tensor& t : flat(random_weights(2, 2, false, 85))) in.push_back(t);
  EXPECT_TRUE(gradcheck(
      [&](const Inputs& xs) {
        size_t i = 1;
        std::vector<LstmWeights> ws{unflat(xs, i, false), unflat(xs, i, false)};
        RngStream rng = dropout_stream(0, 0);
        auto [out, hc] = nn::lstm(o, ws, xs[0], {}, Tensor(), false, rng);
        return joined({out, hc.h, hc.c});
      },
      in));
}

TEST(LstmCell, GradcheckTwoSteps) {
  LstmWeights w = random_weights(3, 2, true, 90);
  Inputs in = {random_f64({2, 3}, -1, 1, 91), random_f64({2, 3}, -1, 1, 92),
               random_f64({2, 2}, -1, 1, 93), random_f64({2, 2}, -1, 1, 94)};
  for (const Tensor& t : flat(w)) in.push_back(t);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& xs) {
        size_t i = 4;
        LstmWeights wx = unflat(xs, i, true);
        auto [h1, c1] = lstm_cell(xs[0], wx, xs[2], xs[3]);
        auto [h2, c2] = lstm_cell(xs[1], wx, h1, c1);
        return joined({h1, h2, c2});
      },
      in));
}

TEST(LstmFixture, OneLayerWithStateMatchesPyTorch) {
  check_lstm_fixture("lstm_basic", options(4, 3));
}

TEST(LstmFixture, PackedTwoLayerBidirectionalBatchFirstMatchesPyTorch) {
  LstmOptions o = options(3, 2, 2, true);
  o.batch_first = true;
  check_lstm_fixture("lstm_packed", o);
}

TEST(LstmFixture, TwoLayersWithoutBiasMatchPyTorch) {
  LstmOptions o = options(3, 4, 2);
  o.bias = false;
  check_lstm_fixture("lstm_nobias", o);
}

TEST(LstmFixture, CellTwoStepsMatchPyTorch) {
  Fixture f = load_fixture("lstm_cell");
  LSTMCell cell(3, 4, true, DType::f64);
  load_parameters(cell, f);
  Tensor x = leaf(f, "x"), h0 = leaf(f, "h0"), c0 = leaf(f, "c0");
  LstmState s1 = cell.forward(x.narrow(0, 0, 1).squeeze(0), {h0, c0});
  LstmState s2 = cell.forward(x.narrow(0, 1, 1).squeeze(0), s1);
  expect_close(s1.h, f.at("out.h1"), 1e-12, "h1");
  expect_close(s2.h, f.at("out.h2"), 1e-12, "h2");
  expect_close(s2.c, f.at("out.c2"), 1e-12, "c2");
  Tensor loss =
      sum(s1.h * f.at("probe.h1")) + sum(s2.h * f.at("probe.h2")) + sum(s2.c * f.at("probe.c2"));
  loss.backward();
  expect_close(x.grad(), f.at("grad.x"), 1e-12, "grad x");
  expect_close(h0.grad(), f.at("grad.h0"), 1e-12, "grad h0");
  expect_close(c0.grad(), f.at("grad.c0"), 1e-12, "grad c0");
  expect_parameter_grads(cell, f, 1e-12);
}

TEST(Lstm, VariableLengthsEqualEachSampleRunAlone) {
  LstmOptions o = options(3, 2, 2, true);
  LSTM m(o);
  const std::vector<int64_t> lens{4, 2, 3};
  Tensor x = random_f64({4, 3, 3}, -1, 1, 100);
  auto [out, hc] = m.forward(x, {}, from_vector(lens));
  for (int64_t b = 0; b < 3; ++b) {
    SCOPED_TRACE("sample " + std::to_string(b));
    auto [alone, hc_alone] = m.forward(x.narrow(1, b, 1).narrow(0, 0, lens[b]));
    expect_close(out.narrow(1, b, 1).narrow(0, 0, lens[b]), alone, 1e-14, "output");
    if (lens[b] < 4) {
      Tensor padding = out.narrow(1, b, 1).narrow(0, lens[b], 4 - lens[b]).contiguous();
      EXPECT_EQ(padding.to_vector<double>(), std::vector<double>(padding.numel(), 0.0));
    }
    expect_close(hc.h.narrow(1, b, 1), hc_alone.h, 1e-14, "h_n");
    expect_close(hc.c.narrow(1, b, 1), hc_alone.c, 1e-14, "c_n");
  }
}

TEST(Lstm, NoGradientFromPadding) {
  LSTM m(options(2, 3));
  Tensor x = random_f64({4, 2, 2}, -1, 1, 110);
  x.requires_grad_();
  auto [out, hc] = m.forward(x, {}, from_vector<int64_t>({4, 2}));
  sum(out).backward();
  std::vector<double> g = x.grad().narrow(1, 1, 1).narrow(0, 2, 2).contiguous().to_vector<double>();
  EXPECT_EQ(g, std::vector<double>(4, 0.0));
  EXPECT_NE(x.grad().narrow(1, 1, 1).narrow(0, 0, 2).contiguous().to_vector<double>(),
            std::vector<double>(4, 0.0));
}

TEST(Lstm, ParameterNamesShapesAndInitFollowPyTorch) {
  LstmOptions o;
  o.input_size = 5;
  o.hidden_size = 4;
  o.num_layers = 2;
  o.bidirectional = true;
  LSTM m(o);
  std::vector<std::string> want;
  for (std::string l : {"0", "1"})
    for (std::string d : {"", "_reverse"})
      for (std::string p : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"})
        want.push_back(p + "_l" + l + d);
  std::vector<std::string> names;
  for (auto& [name, p] : m.named_parameters()) {
    names.push_back(name);
    EXPECT_TRUE(p.requires_grad());
    EXPECT_EQ(p.dtype(), DType::f32);
    for (float v : p.to_vector<float>()) EXPECT_LE(std::abs(v), 0.5f) << name;  // 1/sqrt(4)
  }
  EXPECT_EQ(names, want);
  EXPECT_EQ(m.weights(0, 1).w_ih.shape(), (Shape{16, 5}));
  EXPECT_EQ(m.weights(1, 0).w_ih.shape(), (Shape{16, 8}));
  EXPECT_EQ(m.weights(1, 1).w_hh.shape(), (Shape{16, 4}));
  LSTMCell cell(5, 4, false);
  ASSERT_EQ(cell.named_parameters().size(), 2u);
  EXPECT_EQ(cell.named_parameters()[0].first, "weight_ih");
  EXPECT_EQ(cell.named_parameters()[1].first, "weight_hh");
}

TEST(Lstm, FloatForwardAgreesWithDouble) {
  LstmOptions o = options(3, 4, 2, true);
  LSTM m64(o);
  o.dtype = DType::f32;
  LSTM m32(o);
  {
    NoGradGuard no_grad;
    auto p64 = m64.parameters(), p32 = m32.parameters();
    for (size_t i = 0; i < p64.size(); ++i) p32[i].copy_(p64[i]);
  }
  Tensor x = random_f64({5, 2, 3}, -1, 1, 120);
  auto [o64, s64] = m64.forward(x, {}, from_vector<int64_t>({5, 3}));
  auto [o32, s32] = m32.forward(x.to(DType::f32), {}, from_vector<int64_t>({5, 3}));
  EXPECT_EQ(o32.dtype(), DType::f32);
  expect_close(o32, o64, 1e-5, "output");
  expect_close(s32.h, s64.h, 1e-5, "h_n");
}

// An f32 layer (13 rows: more than one register tile; 4H = 148: a partial sliver) with state,
// forward and every gradient, with the "lstm_step_gemm" version `impl` forced (on the per-step
// path, "lstm_steps" v1_steps: the fused steps do not run that op).
Inputs step_gemm_run(const char* impl) {
  setenv("SIGNET_IMPL_lstm_step_gemm", impl, 1);
  setenv("SIGNET_IMPL_lstm_steps", "v1_steps", 1);
  setenv("SIGNET_IMPL_lstm_steps_backward", "v1_steps", 1);
  const int64_t T = 5, N = 13, I = 9, H = 37;
  LstmWeights w = random_weights(I, H, true, 150);
  Inputs xs = {random_f64({T, N, I}, -1, 1, 151),
               random_f64({N, H}, -1, 1, 152),
               random_f64({N, H}, -1, 1, 153),
               w.w_ih,
               w.w_hh,
               w.b_ih,
               w.b_hh};
  for (Tensor& t : xs) t = t.to(DType::f32).requires_grad_();
  size_t i = 3;
  LstmLayerResult r = lstm_layer(xs[0], unflat(xs, i, true), xs[1], xs[2]);
  Tensor all = joined({r.output, r.h_n, r.c_n});
  sum(all * random_f64({T * N * H + 2 * N * H}, -1, 1, 154).to(DType::f32)).backward();
  unsetenv("SIGNET_IMPL_lstm_step_gemm");
  unsetenv("SIGNET_IMPL_lstm_steps");
  unsetenv("SIGNET_IMPL_lstm_steps_backward");
  Inputs out{all.detach()};
  for (const Tensor& t : xs) out.push_back(t.grad());
  return out;
}

TEST(LstmStepGemm, EveryVersionGivesTheSameLayerAndGradients) {
  const Inputs want = step_gemm_run("v1_reference");
  for (const char* impl : {"v4_transposed", "v3_prepacked", "v2_packed"}) {
    const Inputs got = step_gemm_run(impl);
    for (size_t k = 0; k < want.size(); ++k)
      expect_close(got[k].to(DType::f64), want[k].to(DType::f64), 2e-5,
                   std::string(impl) + " value " + std::to_string(k));
  }
}

// An f32 layer's output and every gradient (x, h0, c0, then the weights), on the default path
// (the fused steps, whose packings of W_hh are cached).
Inputs fused_run(const LstmWeights& w, const Tensor& x, const Tensor& h0, const Tensor& c0) {
  Inputs xs{x, h0, c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh};
  for (Tensor& t : xs) t = t.detach().requires_grad_();
  LstmLayerResult r = lstm_layer(xs[0], {xs[3], xs[4], xs[5], xs[6]}, xs[1], xs[2]);
  sum(r.output * random_f64(r.output.shape(), -1, 1, 163).to(DType::f32)).backward();
  Inputs out{r.output.detach()};
  for (const Tensor& t : xs) out.push_back(t.grad());
  return out;
}

TEST(LstmFusedSteps, PackedRecurrentWeightIsCachedByStorageVersion) {
  // H = 20: one full and one partial unit block; 7 steps.
  const int64_t T = 7, N = 5, I = 6, H = 20;
  LstmWeights w = random_weights(I, H, true, 160);
  for (Tensor* t : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh}) *t = t->to(DType::f32);
  const Tensor x = random_f64({T, N, I}, -1, 1, 161).to(DType::f32);
  const Tensor h0 = random_f64({N, H}, -1, 1, 162).to(DType::f32), c0 = h0 * 0.5;
  auto bitwise_equal = [](const Inputs& a, const Inputs& b) {
    for (size_t k = 0; k < a.size(); ++k)
      if (a[k].to_vector<float>() != b[k].to_vector<float>()) return false;
    return true;
  };
  const uint64_t before = packed_cache().packs();
  const Inputs first = fused_run(w, x, h0, c0);
  EXPECT_EQ(packed_cache().packs() - before, 2u) << "W_hh packs once forward, once backward";
  EXPECT_TRUE(bitwise_equal(fused_run(w, x, h0, c0), first));
  EXPECT_EQ(packed_cache().packs() - before, 2u) << "same storage and version: cached";
  // An in-place write bumps the version: both packings are made again, from the new values, and
  // the results are those of the same values in a fresh storage (which packs for itself).
  {
    NoGradGuard no_grad;
    w.w_hh.copy_(random_f64({4 * H, H}, -0.6, 0.6, 164).to(DType::f32));
  }
  const Inputs changed = fused_run(w, x, h0, c0);
  EXPECT_EQ(packed_cache().packs() - before, 4u);
  EXPECT_FALSE(bitwise_equal(changed, first));
  LstmWeights fresh = w;
  fresh.w_hh = w.w_hh.clone();
  EXPECT_TRUE(bitwise_equal(fused_run(fresh, x, h0, c0), changed));
  EXPECT_EQ(packed_cache().packs() - before, 6u);
}

TEST(LstmDropout, KerasInputMaskIsSharedByEveryStep) {
  LstmOptions o = options(6, 3, 2);
  o.input_dropout = 0.5;
  LSTM m(o);
  Tensor x = random_f64({4, 3, 6}, -1, 1, 130);
  x.requires_grad_();
  auto [out, hc] = m.forward(x);
  sum(out).backward();
  std::vector<double> g = x.grad().to_vector<double>();
  int dropped = 0;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t i = 0; i < 6; ++i) {
      const bool zero = g[n * 6 + i] == 0.0;
      dropped += zero;
      for (int64_t t = 1; t < 4; ++t)
        EXPECT_EQ(g[(t * 3 + n) * 6 + i] == 0.0, zero) << "t " << t << " n " << n << " i " << i;
    }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 18);
  m.train(false);
  o.input_dropout = 0;
  RngStream rng = dropout_stream(0, 0);
  std::vector<LstmWeights> ws{m.weights(0), m.weights(1)};
  auto [plain, unused] = nn::lstm(o, ws, x, {}, Tensor(), true, rng);
  expect_close(m.forward(x).first, plain, 0, "evaluation output");
}

TEST(LstmDropout, BetweenLayersFollowsTheStreamAndOnlyInTraining) {
  LstmOptions o = options(3, 4, 2);
  o.dropout = 0.5;
  LSTM m(o);
  Tensor x = random_f64({3, 2, 3}, -1, 1, 140);
  RngStream a = dropout_stream(7, 3), b = dropout_stream(7, 3), c = dropout_stream(7, 4);
  Tensor ya = m.forward(x, {}, Tensor(), &a).first, yb = m.forward(x, {}, Tensor(), &b).first;
  Tensor yc = m.forward(x, {}, Tensor(), &c).first;
  EXPECT_EQ(ya.to_vector<double>(), yb.to_vector<double>());
  EXPECT_NE(ya.to_vector<double>(), yc.to_vector<double>());
  m.train(false);
  Tensor eval = m.forward(x, {}, Tensor(), &c).first;
  EXPECT_NE(ya.to_vector<double>(), eval.to_vector<double>());
  RngStream d = dropout_stream(7, 3);
  std::vector<LstmWeights> ws{m.weights(0), m.weights(1)};
  o.dropout = 0;
  EXPECT_EQ(nn::lstm(o, ws, x, {}, Tensor(), true, d).first.to_vector<double>(),
            eval.to_vector<double>());
}

TEST(LstmErrors, BadShapesDtypesAndLengthsNameTheOp) {
  LstmWeights w = random_weights(3, 2, true, 150);
  Tensor x = random_f64({4, 2, 3});
  expect_error([&] { lstm_layer(random_f64({4, 2, 5}), w); }, {"lstm", "weight_ih", "[8, 5]"});
  expect_error([&] { lstm_layer(x, w, random_f64({3, 2})); }, {"lstm", "h0", "[3, 2]"});
  expect_error([&] { lstm_layer(x.to(DType::f32), w); }, {"lstm", "dtype"});
  expect_error(
      [&] {
        lstm_layer(x, w, Tensor(), Tensor(), from_vector<int64_t>({5, 1}));
      },
      {"lstm", "lengths[0] = 5"});
  expect_error(
      [&] {
        lstm_layer(x, w, Tensor(), Tensor(), from_vector<int64_t>({1, 1, 1}));
      },
      {"lstm", "lengths"});
  expect_error([&] { lstm_layer(random_f64({4, 3}), w); }, {"lstm", "(T, N, I)"});
  LSTM m(options(3, 2, 2));
  expect_error(
      [&] {
        m.forward(x, {random_f64({1, 2, 2}), Tensor()});
      },
      {"LSTM", "h0", "[2, 2, 2]"});
  expect_error([&] { m.forward(random_f64({4, 2, 4})); }, {"LSTM", "input"});
  LstmOptions bad = options(3, 2);
  bad.dropout = 1.5;
  expect_error([&] { LSTM{bad}; }, {"LSTM", "dropout"});
}

}  // namespace
}  // namespace signet
