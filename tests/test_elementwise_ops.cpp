// Elementwise ops: values, broadcasting, dtype checks and float64 gradchecks on odd shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

TEST(Elementwise, BroadcastValues) {
  Tensor a = from_vector<float>({1, 2, 3}, {3, 1});
  Tensor b = from_vector<float>({10, 20}, {1, 2});
  EXPECT_EQ((a + b).shape(), (Shape{3, 2}));
  EXPECT_EQ((a * b).to_vector<float>(), (std::vector<float>{10, 20, 20, 40, 30, 60}));
  EXPECT_EQ((b - a).to_vector<float>(), (std::vector<float>{9, 19, 8, 18, 7, 17}));
  EXPECT_EQ((2.0 / a).to_vector<float>(), (std::vector<float>{2, 1, 2.0f / 3}));
}

TEST(Elementwise, ShapeMismatchNamesBothShapes) {
  Tensor a = zeros({2, 3});
  Tensor b = zeros({4, 3});
  try {
    add(a, b);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("add"), std::string::npos) << m;
  }
}

TEST(Elementwise, RefusesOtherDtypesClearly) {
  Tensor i = arange(4);
  try {
    exp(i);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("exp"), std::string::npos) << m;
    EXPECT_NE(m.find("i64"), std::string::npos) << m;
  }
  EXPECT_THROW(add(zeros({2}), zeros({2}, DType::f64)), Error);
}

TEST(Elementwise, ActivationValues) {
  Tensor x = from_vector<double>({-2.0, -0.5, 0.0, 0.5, 2.0});
  auto v = gelu(x).to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    double xi = x.to_vector<double>()[i];
    EXPECT_NEAR(v[i], 0.5 * xi * (1 + std::erf(xi / std::sqrt(2.0))), 1e-15);
  }
  EXPECT_EQ(relu(x).to_vector<double>(), (std::vector<double>{0, 0, 0, 0.5, 2.0}));
  EXPECT_EQ(leaky_relu(x, 0.1).to_vector<double>(),
            (std::vector<double>{-0.2, -0.05, 0, 0.5, 2.0}));
  EXPECT_EQ(clamp(x, -1, 1).to_vector<double>(), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_NEAR(sigmoid(x).to_vector<double>()[4], 1 / (1 + std::exp(-2.0)), 1e-15);
  EXPECT_NEAR(tanh(x).to_vector<double>()[0], std::tanh(-2.0), 1e-15);
  EXPECT_EQ(pow(from_vector<double>({3.0}), 2.5).item(), std::pow(3.0, 2.5));
}

TEST(ElementwiseGrad, BinaryWithBroadcasting) {
  Tensor a = random_f64({3, 1, 5}, -1, 1, 1);
  Tensor b = random_f64({4, 1}, 0.5, 2, 2);
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return add(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return sub(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return mul(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return div(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return div(x[1], x[0] + 3.0); }, {a, b}));
}

TEST(ElementwiseGrad, Unary) {
  Tensor x = random_f64({3, 7}, -2, 2, 3);
  Tensor pos = random_f64({5, 3}, 0.2, 3, 4);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return neg(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return exp(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return log(v[0]); }, {pos}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return sqrt(v[0]); }, {pos}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return pow(v[0], 3.0); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return pow(v[0], -1.5); }, {pos}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return abs(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return clamp(v[0], -0.7, 0.9); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return relu(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return leaky_relu(v[0], 0.2); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return sigmoid(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return tanh(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return gelu(v[0]); }, {x}));
}

TEST(ElementwiseGrad, ReluAtZeroIsAKinkNotAFailure) {
  // Two of five elements sit exactly on relu's kink: they are skipped and counted; three
  // smooth ones are checked. With all five on the kink the check must fail.
  Tensor x = from_vector<double>({0.0, 1.5, -0.3, 0.0, 0.8});
  testing::GradcheckOptions opt;
  opt.max_kink_fraction = 0.5;
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return relu(v[0]); }, {x}, opt));
  EXPECT_FALSE(gradcheck([](const Inputs& v) { return relu(v[0]); }, {zeros({5}, DType::f64)}));
}

TEST(ElementwiseGrad, GradcheckCatchesAWrongGradient) {
  // The check itself must be able to fail: x * detach(x) has gradient x, not 2x.
  Tensor x = random_f64({4}, 0.5, 1, 5);
  EXPECT_FALSE(gradcheck([](const Inputs& v) { return v[0] * v[0].detach(); }, {x}));
}

TEST(ElementwiseGrad, NonContiguousInputs) {
  Tensor x = random_f64({4, 6}, -1, 1, 6);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) { return tanh(v[0].t()) * sum(v[0].t().slice(0, 1, 6, 2), {0}, true); },
      {x}));
}

}  // namespace
}  // namespace signet
