// softmax and log_softmax: values against std::exp, every dim of a 3-D tensor, f64 gradchecks.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/ops/elementwise.h"
#include "engine/ops/softmax.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

// Softmax along dim of a contiguous 3-D tensor computed with std::exp, element by element.
std::vector<double> loop_softmax(const Tensor& x, int64_t dim) {
  const Shape& s = x.shape();
  std::vector<double> v = x.to_vector<double>(), out(v.size());
  const int64_t stride = dim == 0 ? s[1] * s[2] : dim == 1 ? s[2] : 1;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t pos = (i / stride) % s[dim];
    const int64_t first = i - pos * stride;
    double total = 0;
    for (int64_t j = 0; j < s[dim]; ++j) total += std::exp(v[first + j * stride]);
    out[i] = std::exp(v[i]) / total;
  }
  return out;
}

TEST(Softmax, TwoByThreeByHand) {
  Tensor x = from_vector<double>({1, 2, 3, -1, 0, 4}, {2, 3});
  std::vector<double> y = softmax(x, 1).to_vector<double>();
  std::vector<double> ly = log_softmax(x, -1).to_vector<double>();
  const double r0 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double r1 = std::exp(-1.0) + std::exp(0.0) + std::exp(4.0);
  const std::vector<double> want = {std::exp(1.0) / r0,  std::exp(2.0) / r0, std::exp(3.0) / r0,
                                    std::exp(-1.0) / r1, 1.0 / r1,           std::exp(4.0) / r1};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(y[i], want[i], 1e-15) << i;
    EXPECT_NEAR(ly[i], std::log(want[i]), 1e-14) << i;
  }
}

TEST(Softmax, EveryDimOfThreeD) {
  Tensor x = random_f64({3, 4, 5}, -3, 3, 1);
  for (int64_t dim : {0, 1, 2}) {
    std::vector<double> want = loop_softmax(x, dim);
    std::vector<double> y = softmax(x, dim).to_vector<double>();
    std::vector<double> ly = log_softmax(x, dim - 3).to_vector<double>();
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(y[i], want[i], 1e-14) << "dim " << dim << " element " << i;
      EXPECT_NEAR(ly[i], std::log(want[i]), 1e-13) << "dim " << dim << " element " << i;
    }
  }
}

TEST(Softmax, NonContiguousInput) {
  Tensor x = random_f64({4, 3, 5}, -3, 3, 2);
  Tensor xp = x.permute({1, 0, 2});  // (3, 4, 5), not contiguous
  std::vector<double> want = loop_softmax(xp.contiguous(), 2);
  std::vector<double> y = softmax(xp, 2).to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-14) << i;
}

TEST(Softmax, LargeValuesStayFinite) {
  Tensor x = from_vector<double>({1000, 1001, 1002});
  std::vector<double> y = softmax(x, 0).to_vector<double>();
  std::vector<double> ly = log_softmax(x, 0).to_vector<double>();
  const double r = 1 + std::exp(1.0) + std::exp(2.0);
  EXPECT_NEAR(y[2], std::exp(2.0) / r, 1e-15);
  EXPECT_NEAR(ly[0], -std::log(r), 1e-13);
  std::vector<float> yf = softmax(x.to(DType::f32), 0).to_vector<float>();
  for (float v : yf) EXPECT_TRUE(std::isfinite(v));
}

TEST(Softmax, FloatAgreesWithDouble) {
  Tensor x = random_f64({3, 4, 5}, -4, 4, 3);
  for (int64_t dim : {0, 1, -1}) {
    std::vector<double> d = log_softmax(x, dim).to_vector<double>();
    std::vector<float> f = log_softmax(x.to(DType::f32), dim).to_vector<float>();
    for (size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(f[i], d[i], 1e-5) << i;
    std::vector<double> ds = softmax(x, dim).to_vector<double>();
    std::vector<float> fs = softmax(x.to(DType::f32), dim).to_vector<float>();
    for (size_t i = 0; i < ds.size(); ++i) EXPECT_NEAR(fs[i], ds[i], 1e-6) << i;
  }
}

TEST(Softmax, RefusesBadArguments) {
  try {
    softmax(zeros({2, 3}), 2);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("softmax"), std::string::npos) << m;
    EXPECT_NE(m.find("dim 2"), std::string::npos) << m;
  }
  try {
    log_softmax(arange(4), 0);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("log_softmax"), std::string::npos) << m;
    EXPECT_NE(m.find("i64"), std::string::npos) << m;
  }
}

TEST(SoftmaxGrad, EveryDimOfThreeD) {
  Tensor x = random_f64({3, 4, 5}, -2, 2, 4);
  for (int64_t dim : {0, 1, -1}) {
    EXPECT_TRUE(gradcheck([dim](const Inputs& v) { return softmax(v[0], dim); }, {x}))
        << "dim " << dim;
    EXPECT_TRUE(gradcheck([dim](const Inputs& v) { return log_softmax(v[0], dim); }, {x}))
        << "dim " << dim;
  }
}

TEST(SoftmaxGrad, PermutedInputAndChained) {
  Tensor x = random_f64({4, 3, 5}, -2, 2, 5);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return softmax(v[0].permute({2, 0, 1}), 1); }, {x}));
  EXPECT_TRUE(
      gradcheck([](const Inputs& v) { return log_softmax(softmax(v[0], 0) * 3.0, -1); }, {x}));
}

}  // namespace
}  // namespace signet
