// Reductions: values over dims with keepdim, argmax, sum_to, and float64 gradchecks.
#include <gtest/gtest.h>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

TEST(Reduce, ValuesOverDims) {
  Tensor x = from_vector<double>({1, 5, 3, 4, 2, 6}, {2, 3});
  EXPECT_DOUBLE_EQ(sum(x).item(), 21);
  EXPECT_EQ(sum(x, {0}).to_vector<double>(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(mean(x, {-1}).to_vector<double>(), (std::vector<double>{3, 4}));
  EXPECT_EQ(max(x, {1}).to_vector<double>(), (std::vector<double>{5, 6}));
  EXPECT_EQ(min(x, {0}).to_vector<double>(), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(argmax(x, 0, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(argmax(x, 0).dtype(), DType::i64);
}

TEST(Reduce, NonContiguousAndManyDims) {
  Tensor x = arange(0, 24, 1, DType::f64).reshape({2, 3, 4}).permute({2, 0, 1});
  // x[k][i][j] = 12 i + 4 j + k; sum over dims 0 and 2 (k and j): 4*3*12i + 4*4*3 + 3*6.
  EXPECT_EQ(sum(x, {0, 2}).to_vector<double>(), (std::vector<double>{66, 210}));
}

TEST(Reduce, SumToUndoesBroadcasting) {
  Tensor g = ones({4, 3, 5}, DType::f64);
  EXPECT_EQ(sum_to(g, {3, 1}).to_vector<double>(), (std::vector<double>{20, 20, 20}));
  EXPECT_EQ(sum_to(g, {1, 5}).shape(), (Shape{1, 5}));
  EXPECT_THROW(sum(g, {3}), Error);
  EXPECT_THROW(sum(g, {1, 1}), Error);
}

TEST(ReduceGrad, SumMeanMaxMin) {
  Tensor x = random_f64({3, 4, 5}, -1, 1, 11);
  for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {1}, {0, 2}, {-1}}) {
    for (bool keep : {false, true}) {
      EXPECT_TRUE(gradcheck([&](const Inputs& v) { return sum(v[0], dims, keep); }, {x}));
      EXPECT_TRUE(gradcheck([&](const Inputs& v) { return mean(v[0], dims, keep); }, {x}));
      EXPECT_TRUE(gradcheck([&](const Inputs& v) { return max(v[0], dims, keep); }, {x}));
      EXPECT_TRUE(gradcheck([&](const Inputs& v) { return min(v[0], dims, keep); }, {x}));
    }
  }
}

TEST(ReduceGrad, MaxSendsGradientToFirstMaximum) {
  Tensor x = from_vector<double>({1, 3, 3, 2}).requires_grad_();
  max(x).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0}));
}

TEST(ReduceGrad, ReductionOfPermutedView) {
  Tensor x = random_f64({2, 3, 4}, -1, 1, 12);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return sum(v[0].permute({2, 0, 1}), {1}); }, {x}));
}

}  // namespace
}  // namespace signet
