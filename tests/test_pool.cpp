// Pooling: max (with indices), average and adaptive average, 2-D and 3-D, against PyTorch
// fixtures, float64 gradchecks, PyTorch's edge rules, errors and the nn modules.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/nn/pool.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"
#include "engine/ops/reduce.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace {

using signet::DType;
using signet::Shape;
using signet::Tensor;
using signet::testing::expect_error;
using signet::testing::gradcheck;
using signet::testing::random_f64;
using Inputs = std::vector<Tensor>;

// Expects t to hold the fixture values of key within tol (absolute).
void expect_fixture(const Tensor& t, const std::map<std::string, Tensor>& f, const std::string& key,
                    double tol) {
  signet::testing::expect_close(t, f.at(key), tol, key);
}

// One fixture case: its name and the pooling it applies (arguments as in the script).
struct PoolCase {
  const char* name;
  std::pair<Tensor, Tensor> (*run)(const Tensor&);
};

const PoolCase kCases[] = {
    {"max_pool2d",
     [](const Tensor& x) { return signet::max_pool2d_with_indices(x, {3}, {2}, {1}); }},
    {"max_pool2d_dilated",
     [](const Tensor& x) {
       return signet::max_pool2d_with_indices(x, {3, 2}, {2, 1}, {1, 0}, {2}, true);
     }},
    {"avg_pool2d",
     [](const Tensor& x) {
       return std::make_pair(signet::avg_pool2d(x, {3}, {2}, {1}), Tensor());
     }},
    {"avg_pool2d_exclude_pad",
     [](const Tensor& x) {
       return std::make_pair(signet::avg_pool2d(x, {3, 2}, {2}, {1}, true, false), Tensor());
     }},
    {"max_pool3d",
     [](const Tensor& x) {
       return signet::max_pool3d_with_indices(x, {2, 3, 3}, {1, 2, 2}, {0, 1, 1});
     }},
    {"avg_pool3d",
     [](const Tensor& x) {
       return std::make_pair(signet::avg_pool3d(x, {3}, {2}, {1}), Tensor());
     }},
    {"adaptive_avg_pool2d_global",
     [](const Tensor& x) { return std::make_pair(signet::adaptive_avg_pool2d(x, {1}), Tensor()); }},
    {"adaptive_avg_pool2d",
     [](const Tensor& x) {
       return std::make_pair(signet::adaptive_avg_pool2d(x, {3, 2}), Tensor());
     }},
    {"adaptive_avg_pool3d_global",
     [](const Tensor& x) { return std::make_pair(signet::adaptive_avg_pool3d(x, {1}), Tensor()); }},
    {"adaptive_avg_pool3d",
     [](const Tensor& x) {
       return std::make_pair(signet::adaptive_avg_pool3d(x, {2, 3, 3}), Tensor());
     }},
    {"max_pool2d_2x2",
     [](const Tensor& x) { return signet::max_pool2d_with_indices(x, {2}, {2}, {0}); }},
    {"avg_pool2d_2x2",
     [](const Tensor& x) {
       return std::make_pair(signet::avg_pool2d(x, {2}, {2}, {0}), Tensor());
     }},
};

// Runs every case in dtype and compares output, indices and the input gradient with PyTorch's.
void expect_cases_match(DType dtype, double tol) {
  static const auto f = signet::testing::load_text_fixture("pool_cases.txt");
  for (const PoolCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::string p = std::string(c.name) + "/";
    Tensor x = f.at(p + "x").clone().to(dtype).requires_grad_();
    auto [y, idx] = c.run(x);
    expect_fixture(y, f, p + "out", tol);
    if (idx.defined()) {
      EXPECT_EQ(idx.dtype(), DType::i64);
      expect_fixture(idx, f, p + "indices", 0);
    }
    signet::sum(signet::mul(y, f.at(p + "probe").to(dtype))).backward();
    expect_fixture(x.grad(), f, p + "grad.x", tol);
  }
}

TEST(PoolOps, MatchPyTorchInFloat64) {
  expect_cases_match(DType::f64, 1e-12);
}

TEST(PoolOps, MatchPyTorchInFloat32) {
  expect_cases_match(DType::f32, 1e-6);
}

TEST(PoolOps, Gradchecks2d) {
  Tensor x = random_f64({2, 2, 5, 6}, -1, 1, 41);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return signet::max_pool2d(v[0], {2, 3}, {1, 2}, {1});
      },
      {x}));
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) { return signet::max_pool2d(v[0], {2}, {1}, {0}, {2}, true); }, {x}));
  EXPECT_TRUE(
      gradcheck([](const Inputs& v) { return signet::avg_pool2d(v[0], {3}, {2}, {1}); }, {x}));
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return signet::avg_pool2d(v[0], {3, 2}, {2}, {1}, true, false);
      },
      {x}));
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return signet::adaptive_avg_pool2d(v[0], {3, 4});
      },
      {x}));
}

TEST(PoolOps, Gradchecks3d) {
  Tensor x = random_f64({1, 2, 4, 5, 3}, -1, 1, 42);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return signet::max_pool3d(v[0], {2, 2, 2}, {1, 2, 1}, {1, 0, 1});
      },
      {x}));
  EXPECT_TRUE(
      gradcheck([](const Inputs& v) { return signet::avg_pool3d(v[0], {2}, {2}, {1}); }, {x}));
  EXPECT_TRUE(
      gradcheck([](const Inputs& v) { return signet::adaptive_avg_pool3d(v[0], {1}); }, {x}));
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return signet::adaptive_avg_pool3d(v[0], {3, 2, 2});
      },
      {x}));
}

TEST(PoolOps, GlobalAveragePoolIsThePlaneMean) {
  Tensor x = random_f64({3, 4, 5, 6}, -1, 1, 43);
  Tensor y = signet::adaptive_avg_pool2d(x, {1});
  EXPECT_EQ(y.shape(), (Shape{3, 4, 1, 1}));
  const std::vector<double> got = y.to_vector<double>();
  const std::vector<double> want = signet::mean(x, {2, 3}).to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-14);
}

TEST(PoolOps, MaxPoolPropagatesNaNAndIndexesWithinThePlane) {
  Tensor x = signet::from_vector<float>({1, NAN, 3, 4, 5, 6, 7, 8}, {1, 2, 2, 2});
  auto [y, idx] = signet::max_pool2d_with_indices(x, {2});
  EXPECT_TRUE(std::isnan(y.to_vector<float>()[0]));
  EXPECT_EQ(y.to_vector<float>()[1], 8.0f);
  EXPECT_EQ(idx.to_vector<int64_t>(), (std::vector<int64_t>{1, 3}));
}

TEST(PoolOps, ErrorsNameTheOpAndShapes) {
  Tensor x = signet::zeros({1, 2, 5, 5});
  expect_error([&] { signet::max_pool2d(x, {3}, {1}, {2}); }, {"max_pool2d", "padding", "half"});
  expect_error([&] { signet::avg_pool3d(x, {2}); }, {"avg_pool3d", "5 dims", "[1, 2, 5, 5]"});
  expect_error([&] { signet::max_pool2d(x, {7}); }, {"max_pool2d", "smaller", "[1, 2, 5, 5]"});
  expect_error(
      [&] {
        signet::adaptive_avg_pool2d(x, {1, 2, 3});
      },
      {"adaptive_avg_pool2d", "output_size"});
  expect_error([&] { signet::avg_pool2d(x, {2}, {0}); }, {"avg_pool2d", "stride"});
  expect_error(
      [&] {
        signet::max_pool2d(signet::zeros({1, 2, 5, 5}, DType::i64), {2});
      },
      {"max_pool2d", "i64"});
}

TEST(PoolModules, ForwardShapesAsPyTorch) {
  Tensor x = signet::rand({2, 3, 9, 8});
  EXPECT_EQ(signet::nn::MaxPool2d({2}).forward(x).shape(), (Shape{2, 3, 4, 4}));
  EXPECT_EQ(signet::nn::MaxPool2d({3}, {2}, {1}, {1}, true).forward(x).shape(),
            (Shape{2, 3, 5, 5}));
  EXPECT_EQ(signet::nn::AvgPool2d({3}, {2}, {1}).forward(x).shape(), (Shape{2, 3, 5, 4}));
  EXPECT_EQ(signet::nn::AdaptiveAvgPool2d({1}).forward(x).shape(), (Shape{2, 3, 1, 1}));
  Tensor v = signet::rand({1, 2, 5, 6, 7});
  EXPECT_EQ(signet::nn::MaxPool3d({1, 2, 2}).forward(v).shape(), (Shape{1, 2, 5, 3, 3}));
  EXPECT_EQ(signet::nn::AvgPool3d({3}, {2}).forward(v).shape(), (Shape{1, 2, 2, 2, 3}));
  EXPECT_EQ(signet::nn::AdaptiveAvgPool3d({1}).forward(v).shape(), (Shape{1, 2, 1, 1, 1}));
  EXPECT_EQ(signet::nn::Flatten().forward(v).shape(), (Shape{1, 420}));
  EXPECT_TRUE(signet::nn::MaxPool2d({2}).named_parameters().empty());
}

}  // namespace
