// Layer norm: f64 gradchecks with and without affine parameters, nn::LayerNorm and the op
// against PyTorch fixtures (tests/fixtures/make_norm_fixtures.py), argument errors; the fast
// v2 kernels against the reference on odd sizes, independent of the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/nn/layer_norm.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm.h"
#include "engine/ops/reduce.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/reference/layer_norm.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::expect_close;
using testing::expect_error;
using testing::gradcheck;
using Inputs = std::vector<Tensor>;

TEST(LayerNormOps, GradcheckWithAffine) {
  Tensor x = testing::random_f64({3, 2, 5}, -2.0, 2.0, 1);
  Tensor w = testing::random_f64({2, 5}, 0.5, 1.5, 2);
  Tensor b = testing::random_f64({2, 5}, -1.0, 1.0, 3);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return layer_norm(v[0], {2, 5}, v[1], v[2], 1e-5);
      },
      {x, w, b}));
}

TEST(LayerNormOps, GradcheckWithoutAffine) {
  Tensor x = testing::random_f64({4, 7}, -1.0, 1.0, 4);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) { return layer_norm(v[0], {7}, Tensor(), Tensor(), 1e-3); }, {x}));
}

// The tensors of one fixture case, keys without the "<case>/" prefix.
std::map<std::string, Tensor> fixture_case(const std::string& name) {
  std::map<std::string, Tensor> out;
  for (const auto& [key, t] : testing::load_text_fixture("norm_cases.txt"))
    if (key.rfind(name + "/", 0) == 0) out[key.substr(name.size() + 1)] = t;
  EXPECT_FALSE(out.empty()) << "no fixture case " << name;
  return out;
}

TEST(LayerNormModules, AffineMatchesPyTorch) {
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
    auto t = fixture_case("ln_affine");
    nn::LayerNorm ln({4, 5}, 1e-5, true, dt);
    {
      NoGradGuard no_grad;
      Tensor w = ln.weight(), b = ln.bias();
      w.copy_(t["weight"].to(dt));
      b.copy_(t["bias"].to(dt));
    }
    Tensor x = t["x"].to(dt).detach().requires_grad_();
    Tensor out = ln.forward(x);
    sum(out * t["probe"].to(dt)).backward();
    expect_close(out, t["out"], tol, "out");
    expect_close(x.grad(), t["grad.x"], tol, "grad.x");
    expect_close(ln.weight().grad(), t["grad.weight"], tol, "grad.weight");
    expect_close(ln.bias().grad(), t["grad.bias"], tol, "grad.bias");
  }
}

TEST(LayerNormOps, PlainMatchesPyTorch) {
  auto t = fixture_case("ln_plain");
  Tensor x = t["x"].detach().requires_grad_();
  Tensor out = layer_norm(x, {7}, Tensor(), Tensor(), 1e-3);
  sum(out * t["probe"]).backward();
  expect_close(out, t["out"], 1e-10, "out");
  expect_close(x.grad(), t["grad.x"], 1e-10, "grad.x");
  nn::LayerNorm ln({7}, 1e-3, false);
  EXPECT_TRUE(ln.parameters().empty());
}

TEST(LayerNormOps, ErrorsNameOpShapesAndArgument) {
  expect_error(
      [] {
        layer_norm(zeros({2, 3, 4}), {3}, Tensor(), Tensor(), 1e-5);
      },
      {"layer_norm", "[3]", "[2, 3, 4]"});
  expect_error(
      [] {
        layer_norm(zeros({2, 4}), {4}, ones({3}), Tensor(), 1e-5);
      },
      {"layer_norm", "weight", "[4]", "[3]"});
  expect_error(
      [] {
        layer_norm(zeros({4}), {2, 4}, Tensor(), Tensor(), 1e-5);
      },
      {"layer_norm", "[2, 4]", "[4]"});
  expect_error([] { nn::LayerNorm({}); }, {"LayerNorm", "normalized_shape"});
}

// Expects every element of got within tol * (1 + |want|) of want.
void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, double tol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << what << " element " << i;
}

// Uniform floats in [-1, 1) times scale plus shift.
std::vector<float> floats(size_t n, unsigned seed, float scale, float shift) {
  std::vector<float> v = testing::uniform_floats(n, seed);
  for (float& f : v) f = f * scale + shift;
  return v;
}

// cpu::layer_norm_{forward,backward}_v2 against the reference on (rows, cols), with and without
// weight and bias, on `threads` threads.
void expect_v2_matches_reference(int64_t rows, int64_t cols, bool affine, int threads) {
  const kernels::LayerNormDesc d{rows, cols, 1e-5};
  const size_t n = static_cast<size_t>(rows * cols), c = static_cast<size_t>(cols),
               r = static_cast<size_t>(rows);
  std::vector<float> x = floats(n, 1, 2.0f, 3.0f), dy = floats(n, 2, 1.0f, 0.2f);
  std::vector<float> w = floats(c, 3, 0.5f, 1.0f), b = floats(c, 4, 1.0f, 0.0f);
  const float* wp = affine ? w.data() : nullptr;
  const float* bp = affine ? b.data() : nullptr;
  std::vector<float> y(n), m(r), rs(r), ry(n), rm(r), rrs(r);
  cpu::layer_norm_forward_v2(d, x.data(), wp, bp, y.data(), m.data(), rs.data(), threads);
  ref::layer_norm_forward<float>(d, x.data(), wp, bp, ry.data(), rm.data(), rrs.data());
  expect_near_all(m, rm, 1e-6, "mean");
  expect_near_all(rs, rrs, 1e-5, "rstd");
  expect_near_all(y, ry, 1e-5, "y");
  std::vector<float> dx(n), dw(c), db(c), rdx(n), rdw(c), rdb(c);
  cpu::layer_norm_backward_v2(d, x.data(), dy.data(), rm.data(), rrs.data(), wp, dx.data(),
                              dw.data(), db.data(), threads);
  ref::layer_norm_backward<float>(d, x.data(), dy.data(), rm.data(), rrs.data(), wp, rdx.data(),
                                  rdw.data(), rdb.data());
  expect_near_all(dx, rdx, 2e-5, "dx");
  expect_near_all(dw, rdw, 2e-5, "dweight");
  expect_near_all(db, rdb, 2e-5, "dbias");
}

TEST(LayerNormKernels, V2MatchesReferenceOnOddSizes) {
  // cols 1, below a lane group, odd, several 2048-element blocks and 256-column tiles; rows 1
  // and more than one 64-row block.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1},    {5, 7},    {3, 17},
                                                           {130, 33}, {7, 1000}, {3, 4613}};
  for (const auto& [rows, cols] : shapes)
    for (bool affine : {true, false}) {
      SCOPED_TRACE("rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
                   (affine ? " affine" : ""));
      expect_v2_matches_reference(rows, cols, affine, 2);
    }
}

TEST(LayerNormKernels, V2IsBitwiseIndependentOfThreadCount) {
  const kernels::LayerNormDesc d{67, 301, 1e-5};
  const size_t n = 67 * 301;
  std::vector<float> x = floats(n, 5, 1.0f, -2.0f), dy = floats(n, 6, 1.0f, 0.0f);
  std::vector<float> w = floats(301, 7, 0.5f, 1.0f), b = floats(301, 8, 1.0f, 0.0f);
  // Every output of one run, concatenated.
  auto run = [&](int threads) {
    std::vector<float> y(n), m(67), rs(67), dx(n), dw(301), db(301);
    cpu::layer_norm_forward_v2(d, x.data(), w.data(), b.data(), y.data(), m.data(), rs.data(),
                               threads);
    cpu::layer_norm_backward_v2(d, x.data(), dy.data(), m.data(), rs.data(), w.data(), dx.data(),
                                dw.data(), db.data(), threads);
    for (const auto* v : {&m, &rs, &dx, &dw, &db}) y.insert(y.end(), v->begin(), v->end());
    return y;
  };
  const std::vector<float> one = run(1);
  for (int threads : {2, 3, 5}) {
    const std::vector<float> got = run(threads);
    EXPECT_EQ(0, std::memcmp(one.data(), got.data(), one.size() * sizeof(float))) << threads;
  }
}

TEST(LayerNormKernels, LargeMeanKeepsVariancePrecision) {
  // Values 1000 + U(-1, 1): the variance about the mean, not the raw second moment.
  expect_v2_matches_reference(4, 513, false, 1);
  const kernels::LayerNormDesc d{4, 513, 1e-5};
  std::vector<float> x = floats(4 * 513, 9, 1.0f, 1000.0f), y(x.size()), ry(x.size());
  std::vector<float> m(4), rs(4), rm(4), rrs(4);
  cpu::layer_norm_forward_v2(d, x.data(), nullptr, nullptr, y.data(), m.data(), rs.data(), 2);
  ref::layer_norm_forward<float>(d, x.data(), nullptr, nullptr, ry.data(), rm.data(), rrs.data());
  expect_near_all(rs, rrs, 1e-5, "rstd");
  expect_near_all(y, ry, 1e-4, "y");
}

TEST(LayerNormOps, F32UsesV2) {
  Tensor x = testing::random_f64({6, 40}, -1.0, 1.0, 10).to(DType::f32);
  layer_norm(x, {40}, Tensor(), Tensor(), 1e-5);
  int found = 0;
  for (const dispatch::OpBase* op : dispatch::OpBase::all())
    if (op->name() == "layer_norm" || op->name() == "layer_norm_backward") {
      ++found;
      EXPECT_EQ(op->impl_names().front(), "v2_rows") << op->name();
    }
  EXPECT_EQ(found, 2);
}

}  // namespace
}  // namespace signet
