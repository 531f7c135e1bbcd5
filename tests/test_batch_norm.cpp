// Batch norm: the v2 CPU kernels against the reference on odd shapes and every SIMD path,
// independence of the thread count, f64 gradchecks, nn::BatchNorm{1,2,3}d against PyTorch
// fixtures (tests/fixtures/make_norm_fixtures.py), argument errors, and Module buffers and
// state dicts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/batch_norm.h"
#include "engine/nn/linear.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm.h"
#include "engine/ops/reduce.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/reference/batch_norm.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using cpu::SimdPath;
using kernels::BatchNormDesc;
using testing::expect_close;
using testing::expect_error;
using testing::gradcheck;
using testing::uniform_floats;
using Inputs = std::vector<Tensor>;

// Expects every element of got within tol * (1 + |want|) of want.
void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, double tol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << what << " element " << i;
}

// The (n, c, inner) problems of the kernel tests: 2-d odd, C = 1, 1-d (N, C), (N, C, L), 3-d,
// and rows of several f32 partial-sum blocks (2048 floats) with a masked tail.
std::vector<BatchNormDesc> kernel_cases() {
  return {{3, 5, 63, 1e-5}, {4, 1, 30, 1e-5}, {7, 3, 1, 1e-3},   {3, 4, 11, 1e-5},
          {2, 3, 60, 1e-5}, {2, 6, 17, 1e-2}, {3, 2, 4613, 1e-5}};
}

// Random data of d's size shifted by `shift` (stresses the shifted sums).
std::vector<float> data_for(const BatchNormDesc& d, unsigned seed, float scale, float shift) {
  std::vector<float> v = uniform_floats(static_cast<size_t>(d.n * d.c * d.inner), seed);
  for (float& f : v) f = f * scale + shift;
  return v;
}

// The v2 kernels (forward train/eval, backward train/eval) against the reference on d.
void expect_v2_matches_reference(const BatchNormDesc& d, bool affine, int threads, SimdPath path) {
  const size_t total = static_cast<size_t>(d.n * d.c * d.inner), c = static_cast<size_t>(d.c);
  std::vector<float> x = data_for(d, 11, 2.0f, 3.0f), dy = data_for(d, 12, 1.0f, 0.25f);
  std::vector<float> w = data_for({1, d.c, 1, 0}, 13, 0.5f, 1.0f);
  std::vector<float> b = data_for({1, d.c, 1, 0}, 14, 1.0f, 0.0f);
  const float* wp = affine ? w.data() : nullptr;
  const float* bp = affine ? b.data() : nullptr;
  std::vector<float> y(total), m(c), v(c), is(c), ry(total), rm(c), rv(c), ris(c);
  cpu::batch_norm_forward_train_v2(d, x.data(), wp, bp, y.data(), m.data(), v.data(), is.data(),
                                   threads, path);
  ref::batch_norm_forward_train<float>(d, x.data(), wp, bp, ry.data(), rm.data(), rv.data(),
                                       ris.data());
  expect_near_all(m, rm, 1e-6, "mean");
  expect_near_all(v, rv, 1e-5, "var");
  expect_near_all(is, ris, 1e-5, "invstd");
  expect_near_all(y, ry, 1e-5, "train y");
  cpu::batch_norm_forward_eval_v2(d, x.data(), rm.data(), rv.data(), wp, bp, y.data(), threads,
                                  path);
  ref::batch_norm_forward_eval<float>(d, x.data(), rm.data(), rv.data(), wp, bp, ry.data());
  expect_near_all(y, ry, 1e-5, "eval y");
  for (bool training : {true, false}) {
    std::vector<float> dx(total), dw(c), db(c), rdx(total), rdw(c), rdb(c);
    cpu::batch_norm_backward_v2(d, x.data(), dy.data(), rm.data(), ris.data(), wp, training,
                                dx.data(), dw.data(), db.data(), threads, path);
    ref::batch_norm_backward<float>(d, x.data(), dy.data(), rm.data(), ris.data(), wp, training,
                                    rdx.data(), rdw.data(), rdb.data());
    const std::string mode = training ? " (training)" : " (evaluation)";
    expect_near_all(dx, rdx, 2e-5, "dx" + mode);
    expect_near_all(dw, rdw, 1e-5, "dweight" + mode);
    expect_near_all(db, rdb, 1e-5, "dbias" + mode);
  }
}

TEST(BatchNormKernels, V2MatchesReferenceOnEveryPath) {
  for (SimdPath path : signet::cpu::supported_simd_paths())
    for (const BatchNormDesc& d : kernel_cases())
      for (bool affine : {true, false}) {
        SCOPED_TRACE(std::string(cpu::simd_path_name(path)) + " n=" + std::to_string(d.n) +
                     " c=" + std::to_string(d.c) + " inner=" + std::to_string(d.inner) +
                     (affine ? " affine" : ""));
        expect_v2_matches_reference(d, affine, 2, path);
      }
}

TEST(BatchNormKernels, V2IsBitwiseIndependentOfThreadCount) {
  const BatchNormDesc d{3, 7, 45, 1e-5};
  const size_t total = static_cast<size_t>(d.n * d.c * d.inner), c = static_cast<size_t>(d.c);
  std::vector<float> x = data_for(d, 21, 3.0f, -1.0f), dy = data_for(d, 22, 1.0f, 0.0f);
  std::vector<float> y1(total), m1(c), v1(c), i1(c), dx1(total), dw1(c), db1(c);
  cpu::batch_norm_forward_train_v2(d, x.data(), nullptr, nullptr, y1.data(), m1.data(), v1.data(),
                                   i1.data(), 1, cpu::active_simd_path());
  cpu::batch_norm_backward_v2(d, x.data(), dy.data(), m1.data(), i1.data(), nullptr, true,
                              dx1.data(), dw1.data(), db1.data(), 1, cpu::active_simd_path());
  for (int threads : {2, 3, 5}) {
    std::vector<float> y(total), m(c), v(c), is(c), dx(total), dw(c), db(c);
    cpu::batch_norm_forward_train_v2(d, x.data(), nullptr, nullptr, y.data(), m.data(), v.data(),
                                     is.data(), threads, cpu::active_simd_path());
    cpu::batch_norm_backward_v2(d, x.data(), dy.data(), m.data(), is.data(), nullptr, true,
                                dx.data(), dw.data(), db.data(), threads, cpu::active_simd_path());
    EXPECT_EQ(0, std::memcmp(y.data(), y1.data(), total * sizeof(float))) << threads;
    EXPECT_EQ(0, std::memcmp(v.data(), v1.data(), c * sizeof(float))) << threads;
    EXPECT_EQ(0, std::memcmp(dx.data(), dx1.data(), total * sizeof(float))) << threads;
    EXPECT_EQ(0, std::memcmp(dw.data(), dw1.data(), c * sizeof(float))) << threads;
  }
}

TEST(BatchNormKernels, LargeTensorsStreamOutputsAndMatchReference) {
  // 16 MiB and more: y and dx stored non-temporally where the rows are 64-byte aligned (shift
  // 0: every row, inner a multiple of 16 floats), plain stores elsewhere (shift 1).
  const BatchNormDesc d{2, 3, 700000, 1e-5};
  const size_t total = static_cast<size_t>(d.n * d.c * d.inner), c = static_cast<size_t>(d.c);
  const std::vector<float> x = data_for(d, 41, 2.0f, 1.0f), dy = data_for(d, 42, 1.0f, 0.0f);
  std::vector<float> ry(total), rm(c), rv(c), ris(c), rdx(total), rdw(c), rdb(c);
  ref::batch_norm_forward_train<float>(d, x.data(), nullptr, nullptr, ry.data(), rm.data(),
                                       rv.data(), ris.data());
  ref::batch_norm_backward<float>(d, x.data(), dy.data(), rm.data(), ris.data(), nullptr, true,
                                  rdx.data(), rdw.data(), rdb.data());
  std::vector<float> ybuf(total + 32), dxbuf(total + 32), m(c), v(c), is(c), dw(c), db(c);
  const auto align = [](float* p) {
    return p + (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64 / sizeof(float);
  };
  for (size_t shift : {0, 1}) {
    float* y = align(ybuf.data()) + shift;
    float* dx = align(dxbuf.data()) + shift;
    cpu::batch_norm_forward_train_v2(d, x.data(), nullptr, nullptr, y, m.data(), v.data(),
                                     is.data(), 2, cpu::active_simd_path());
    cpu::batch_norm_backward_v2(d, x.data(), dy.data(), rm.data(), ris.data(), nullptr, true, dx,
                                dw.data(), db.data(), 2, cpu::active_simd_path());
    const std::string at = " shift " + std::to_string(shift);
    expect_near_all(std::vector<float>(y, y + total), ry, 1e-5, "y" + at);
    expect_near_all(std::vector<float>(dx, dx + total), rdx, 2e-5, "dx" + at);
    expect_near_all(v, rv, 1e-5, "var" + at);
    expect_near_all(dw, rdw, 1e-5, "dweight" + at);
  }
}

TEST(BatchNormKernels, LargeMeanKeepsVariancePrecision) {
  // Values 1000 + U(-1, 1): a naive sum of squares in float would lose the variance.
  const BatchNormDesc d{4, 2, 257, 1e-5};
  std::vector<float> x = data_for(d, 31, 1.0f, 1000.0f);
  std::vector<float> y(x.size()), m(2), v(2), is(2), rm(2), rv(2), ris(2), ry(x.size());
  cpu::batch_norm_forward_train_v2(d, x.data(), nullptr, nullptr, y.data(), m.data(), v.data(),
                                   is.data(), 2, cpu::active_simd_path());
  ref::batch_norm_forward_train<float>(d, x.data(), nullptr, nullptr, ry.data(), rm.data(),
                                       rv.data(), ris.data());
  expect_near_all(v, rv, 1e-5, "var");
  expect_near_all(y, ry, 1e-4, "y");
}

TEST(BatchNormOps, GradcheckTrainingWithAffine) {
  Tensor x = testing::random_f64({3, 4, 5}, -2.0, 2.0, 1);
  Tensor w = testing::random_f64({4}, 0.5, 1.5, 2);
  Tensor b = testing::random_f64({4}, -1.0, 1.0, 3);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], true, 0.1, 1e-5);
      },
      {x, w, b}));
}

TEST(BatchNormOps, GradcheckTrainingWithoutAffine) {
  Tensor x = testing::random_f64({5, 3}, -1.0, 1.0, 4);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
      },
      {x}));
}

TEST(BatchNormOps, GradcheckEvaluation) {
  Tensor x = testing::random_f64({2, 3, 2, 3}, -1.0, 1.0, 5);
  Tensor w = testing::random_f64({3}, 0.5, 1.5, 6);
  Tensor b = testing::random_f64({3}, -1.0, 1.0, 7);
  Tensor rm = testing::random_f64({3}, -0.5, 0.5, 8);
  Tensor rv = testing::random_f64({3}, 0.5, 2.0, 9);
  EXPECT_TRUE(gradcheck(
      [rm, rv](const Inputs& v) { return batch_norm(v[0], rm, rv, v[1], v[2], false, 0.1, 1e-5); },
      {x, w, b}));
}

TEST(BatchNormOps, TrainingUpdatesRunningStatsWithUnbiasedVariance) {
  Tensor x = from_vector<double>({1, 2, 3, 5}, {4, 1});
  Tensor rm = zeros({1}, DType::f64), rv = ones({1}, DType::f64);
  batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.5, 1e-5);
  // mean 2.75; unbiased var = sum((x - 2.75)^2) / 3 = 8.75 / 3.
  EXPECT_DOUBLE_EQ(rm.item(), 0.5 * 2.75);
  EXPECT_NEAR(rv.item(), 0.5 + 0.5 * 8.75 / 3.0, 1e-12);
}

TEST(BatchNormOps, ErrorsNameOpShapesAndArgument) {
  Tensor x = zeros({2, 3, 4});
  expect_error([&] { batch_norm(x, Tensor(), Tensor(), ones({4}), Tensor(), true, 0.1, 1e-5); },
               {"batch_norm", "weight", "[3]", "[4]"});
  expect_error([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false, 0.1, 1e-5); },
               {"batch_norm", "running_mean", "[2, 3, 4]"});
  expect_error(
      [&] {
        batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
      },
      {"batch_norm", "more than 1 value", "[1, 3]"});
  expect_error(
      [&] { batch_norm(zeros({3}), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5); },
      {"batch_norm", "(N, C, ...)", "[3]"});
  nn::BatchNorm2d bn(3);
  expect_error([&] { bn.forward(zeros({2, 3, 4})); }, {"BatchNorm2d", "4-d", "[2, 3, 4]"});
  expect_error([&] { bn.forward(zeros({2, 4, 2, 2})); }, {"BatchNorm2d", "3 channels"});
  nn::BatchNorm1d bn1(3);
  expect_error([&] { bn1.forward(zeros({1, 3})); }, {"BatchNorm1d", "more than 1 value", "[1, 3]"});
  EXPECT_EQ(bn1.num_batches_tracked(), 0);
}

// The tensors of one fixture case, keys without the "<case>/" prefix.
std::map<std::string, Tensor> fixture_case(const std::string& name) {
  static const std::map<std::string, Tensor> all = testing::load_text_fixture("norm_cases.txt");
  std::map<std::string, Tensor> out;
  for (const auto& [key, t] : all)
    if (key.rfind(name + "/", 0) == 0) out[key.substr(name.size() + 1)] = t;
  EXPECT_FALSE(out.empty()) << "no fixture case " << name;
  return out;
}

// Trains m on the case's inputs, then checks output, gradients, buffers and evaluation.
void expect_matches_fixture(nn::BatchNormNd& m, const std::string& name, DType dtype, double tol) {
  SCOPED_TRACE(name + (dtype == DType::f32 ? " f32" : " f64"));
  auto t = fixture_case(name);
  if (t.count("weight")) {
    NoGradGuard no_grad;
    Tensor w = m.weight(), b = m.bias();
    w.copy_(t["weight"].to(dtype));
    b.copy_(t["bias"].to(dtype));
  }
  m.train();
  Tensor x, out;
  for (int s = 0; t.count("x" + std::to_string(s)); ++s) {
    x = t["x" + std::to_string(s)].to(dtype).detach().requires_grad_();
    out = m.forward(x);
  }
  sum(out * t["probe"].to(dtype)).backward();
  expect_close(out, t["out"], tol, "out");
  expect_close(x.grad(), t["grad.x"], tol, "grad.x");
  if (t.count("grad.weight")) {
    expect_close(m.weight().grad(), t["grad.weight"], tol, "grad.weight");
    expect_close(m.bias().grad(), t["grad.bias"], tol, "grad.bias");
  }
  if (t.count("running_mean")) {
    expect_close(m.running_mean(), t["running_mean"], tol, "running_mean");
    expect_close(m.running_var(), t["running_var"], tol, "running_var");
    EXPECT_EQ(m.num_batches_tracked(), static_cast<int64_t>(t["num_batches_tracked"].item()));
  }
  m.train(false);
  expect_close(m.forward(t["xe"].to(dtype)), t["eval_out"], tol, "eval_out");
}

TEST(BatchNormModules, MatchPyTorchFixtures) {
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
    nn::BatchNormOptions o;
    o.dtype = dt;
    nn::BatchNorm2d bn2d(5, o);
    expect_matches_fixture(bn2d, "bn2d", dt, tol);
    nn::BatchNormOptions cumulative = o;
    cumulative.momentum.reset();
    cumulative.affine = false;
    nn::BatchNorm1d bn1d(4, cumulative);
    expect_matches_fixture(bn1d, "bn1d_cumulative", dt, tol);
    nn::BatchNormOptions seq = o;
    seq.eps = 1e-3;
    seq.momentum = 0.3;
    nn::BatchNorm1d bn1d_seq(3, seq);
    expect_matches_fixture(bn1d_seq, "bn1d_seq", dt, dt == DType::f64 ? 1e-10 : 1e-4);
    nn::BatchNormOptions m3 = o;
    m3.momentum = 0.2;
    nn::BatchNorm3d bn3d(2, m3);
    expect_matches_fixture(bn3d, "bn3d", dt, tol);
    nn::BatchNormOptions untracked = o;
    untracked.track_running_stats = false;
    nn::BatchNorm2d bn_untracked(3, untracked);
    expect_matches_fixture(bn_untracked, "bn2d_untracked", dt, tol);
    EXPECT_TRUE(bn_untracked.named_buffers().empty());
  }
}

// A small model with a batch norm and a linear layer, for buffer and state dict tests.
struct Net : nn::Module {
  std::shared_ptr<nn::BatchNorm1d> bn = register_module("bn", std::make_shared<nn::BatchNorm1d>(3));
  std::shared_ptr<nn::Linear> fc = register_module("fc", std::make_shared<nn::Linear>(3, 2));
};

TEST(ModuleState, BuffersAndStateDictUsePyTorchNamesAndOrder) {
  Net net;
  std::vector<std::string> buffers, keys;
  for (auto& [name, t] : net.named_buffers()) buffers.push_back(name);
  for (auto& [name, t] : net.state_dict()) keys.push_back(name);
  EXPECT_EQ(buffers, (std::vector<std::string>{"bn.running_mean", "bn.running_var",
                                               "bn.num_batches_tracked"}));
  EXPECT_EQ(keys,
            (std::vector<std::string>{"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                                      "bn.num_batches_tracked", "fc.weight", "fc.bias"}));
  EXPECT_EQ(net.parameters().size(), 4u);
  Tensor nbt = net.state_dict()[4].second;
  EXPECT_EQ(nbt.dtype(), DType::i64);
  EXPECT_EQ(nbt.dim(), 0);
  EXPECT_FALSE(net.bn->running_mean().requires_grad());
}

TEST(ModuleState, LoadStateDictCopiesEveryEntry) {
  Net a, b;
  a.bn->forward(testing::random_f64({4, 3}, -1, 1, 3).to(DType::f32));
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : a.state_dict()) state[name] = t.clone();
  b.load_state_dict(state);
  for (auto& [name, t] : b.state_dict())
    expect_close(t.to(DType::f64), state[name].to(DType::f64), 0.0, name);
  EXPECT_EQ(b.bn->num_batches_tracked(), 1);
}

TEST(ModuleState, LoadStateDictRejectsBadKeysAndChangesNothing) {
  Net net;
  std::map<std::string, Tensor> good;
  for (auto& [name, t] : net.state_dict()) good[name] = zeros_like(t);
  auto missing = good;
  missing.erase("bn.running_var");
  expect_error([&] { net.load_state_dict(missing); }, {"missing key", "bn.running_var"});
  auto extra = good;
  extra["bn.extra"] = zeros({1});
  expect_error([&] { net.load_state_dict(extra); }, {"unexpected key", "bn.extra"});
  auto shape = good;
  shape["fc.weight"] = zeros({3, 2});
  expect_error([&] { net.load_state_dict(shape); }, {"fc.weight", "[3, 2]", "[2, 3]"});
  auto dtype = good;
  dtype["bn.num_batches_tracked"] = zeros({}, DType::f32);
  expect_error([&] { net.load_state_dict(dtype); }, {"bn.num_batches_tracked", "i64"});
  EXPECT_EQ(net.bn->running_var().to(DType::f64).to_vector<double>(),
            (std::vector<double>{1, 1, 1}));
}

}  // namespace
}  // namespace signet
