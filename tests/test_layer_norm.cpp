// Layer norm: f64 gradchecks with and without affine parameters, nn::LayerNorm and the op
// against PyTorch fixtures (tests/fixtures/make_norm_fixtures.py), argument errors.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/layer_norm.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm.h"
#include "engine/ops/reduce.h"
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

}  // namespace
}  // namespace signet
