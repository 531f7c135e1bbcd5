// Joining and indexing: cat, stack, index_select, gather; values, float64 gradchecks, errors.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/ops/reduce.h"
#include "tests/support/expect_error.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::error_of;
using testing::expect_error;

using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

// An i64 index tensor from values.
Tensor idx(const std::vector<int64_t>& values, const Shape& shape = {}) {
  return from_vector<int64_t>(values, shape);
}

TEST(Cat, ValuesAlongEachDim) {
  Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector<double>({5, 6}, {1, 2});
  Tensor c = from_vector<double>({7, 8}, {2, 1});
  Tensor rows = cat({a, b}, 0);
  EXPECT_EQ(rows.shape(), (Shape{3, 2}));
  EXPECT_EQ(rows.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  Tensor cols = cat({a, c}, -1);
  EXPECT_EQ(cols.shape(), (Shape{2, 3}));
  EXPECT_EQ(cols.to_vector<double>(), (std::vector<double>{1, 2, 7, 3, 4, 8}));
  EXPECT_EQ(cat({a}, 1).to_vector<double>(), a.to_vector<double>());
}

TEST(Cat, NonContiguousInputsAndIntegerDtypes) {
  Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).t();             // [[1,4],[2,5],[3,6]]
  Tensor b = from_vector<float>({0, 9, 0, 8, 0, 7}, {3, 2}).slice(1, 1, 2);  // [[9],[8],[7]]
  EXPECT_EQ(cat({a, b}, 1).to_vector<float>(), (std::vector<float>{1, 4, 9, 2, 5, 8, 3, 6, 7}));
  Tensor labels = cat({idx({3, 1}), idx({}), idx({4})}, 0);
  EXPECT_EQ(labels.dtype(), DType::i64);
  EXPECT_EQ(labels.to_vector<int64_t>(), (std::vector<int64_t>{3, 1, 4}));
  Tensor frames = cat({from_vector<uint8_t>({1, 2}), from_vector<uint8_t>({255})}, 0);
  EXPECT_EQ(frames.to_vector<uint8_t>(), (std::vector<uint8_t>{1, 2, 255}));
}

TEST(Stack, ValuesAlongNewDim) {
  Tensor a = from_vector<double>({1, 2, 3});
  Tensor b = from_vector<double>({4, 5, 6});
  Tensor s0 = stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 3}));
  EXPECT_EQ(s0.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  Tensor s1 = stack({a, b}, -1);
  EXPECT_EQ(s1.shape(), (Shape{3, 2}));
  EXPECT_EQ(s1.to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  Tensor scalars = stack({scalar_tensor(2, DType::i64), scalar_tensor(7, DType::i64)}, 0);
  EXPECT_EQ(scalars.to_vector<int64_t>(), (std::vector<int64_t>{2, 7}));
}

TEST(IndexSelect, ValuesWithRepeatsAlongEachDim) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor rows = index_select(x, 0, idx({2, 0, 2}));
  EXPECT_EQ(rows.shape(), (Shape{3, 2}));
  EXPECT_EQ(rows.to_vector<double>(), (std::vector<double>{5, 6, 1, 2, 5, 6}));
  Tensor cols = index_select(x, -1, idx({1, 1, 0, 1}));
  EXPECT_EQ(cols.shape(), (Shape{3, 4}));
  EXPECT_EQ(cols.to_vector<double>(), (std::vector<double>{2, 2, 1, 2, 4, 4, 3, 4, 6, 6, 5, 6}));
  EXPECT_EQ(index_select(x, 0, idx({})).shape(), (Shape{0, 2}));
}

TEST(IndexSelect, LabelsFramesAndStridedInputs) {
  Tensor labels = idx({7, 3, 9, 1});
  EXPECT_EQ(index_select(labels, 0, idx({3, 0})).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 7}));
  Tensor pixels = from_vector<uint8_t>({10, 20, 30, 40}, {2, 2});
  EXPECT_EQ(index_select(pixels, 1, idx({1})).to_vector<uint8_t>(), (std::vector<uint8_t>{20, 40}));
  // x.t() = [[1,3,5],[2,4,6]]; the index is a strided view [2, 0].
  Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2}).t();
  Tensor strided = idx({2, 1, 0}).slice(0, 0, 3, 2);
  EXPECT_EQ(index_select(x, 1, strided).to_vector<float>(), (std::vector<float>{5, 1, 6, 2}));
}

TEST(Gather, ValuesAlongDims0And1) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor g0 = gather(x, 0, idx({1, 0, 1}, {1, 3}));
  EXPECT_EQ(g0.shape(), (Shape{1, 3}));
  EXPECT_EQ(g0.to_vector<double>(), (std::vector<double>{4, 2, 6}));
  Tensor g1 = gather(x, 1, idx({2, 2, 0, 1, 0, 0}, {2, 3}));
  EXPECT_EQ(g1.to_vector<double>(), (std::vector<double>{3, 3, 1, 5, 4, 4}));
  // Picking each row's label score, as a loss does: x[i, y[i]].
  Tensor y = idx({1, 2}, {2, 1});
  EXPECT_EQ(gather(x, 1, y).to_vector<double>(), (std::vector<double>{2, 6}));
  EXPECT_EQ(gather(idx({5, 6, 7, 8}, {2, 2}), 1, idx({1, 0}, {2, 1})).to_vector<int64_t>(),
            (std::vector<int64_t>{6, 7}));
}

TEST(Gather, StridedInputAndIndex) {
  // x = [[1,4],[2,5],[3,6]] as a transposed view; index rows [1,0],[0,0],[1,1] transposed too.
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}).t();
  Tensor index = idx({1, 0, 1, 0, 0, 1}, {2, 3}).t();
  EXPECT_EQ(gather(x, 1, index).to_vector<double>(), (std::vector<double>{4, 1, 2, 2, 6, 6}));
}

TEST(JoinGrad, CatAlongEachDimWithDifferentSizes) {
  for (int64_t d = 0; d < 3; ++d) {
    Shape sa{2, 3, 4}, sb{2, 3, 4}, sc{2, 3, 4};
    sa[d] = 1;
    sb[d] = 2;
    sc[d] = 3;
    Tensor a = random_f64(sa, -1, 1, 1), b = random_f64(sb, -1, 1, 2);
    Tensor c = random_f64(sc, -1, 1, 3);
    EXPECT_TRUE(gradcheck(
        [d](const Inputs& v) {
          return cat({v[0], v[1], v[2]}, d);
        },
        {a, b, c}))
        << "dim " << d;
  }
}

TEST(JoinGrad, CatOfStridedViewsAndOfOneTensorTwice) {
  Tensor a = random_f64({4, 3}, -1, 1, 4), b = random_f64({2, 3}, -1, 1, 5);
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return cat({v[0].t(), v[1].t().slice(1, 0, 2)}, 1) * 2.0;
      },
      {a, b}));
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = cat({x, x * 3.0, x}, 0);
  y.backward(from_vector<double>({1, 10, 100, 1000, 10000, 100000}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{10301, 103010}));
}

TEST(JoinGrad, CatWhereOnlySomeInputsNeedGradients) {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor b = from_vector<double>({3});
  sum(cat({b, a}, 0) * from_vector<double>({5, 6, 7})).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{6, 7}));
  EXPECT_FALSE(b.grad().defined());
}

TEST(JoinGrad, Stack) {
  Tensor a = random_f64({2, 3}, -1, 1, 6), b = random_f64({2, 3}, -1, 1, 7);
  for (int64_t d : {0, 1, 2, -1})
    EXPECT_TRUE(gradcheck(
        [d](const Inputs& v) {
          return stack({v[0], v[1]}, d);
        },
        {a, b}))
        << "dim " << d;
}

TEST(JoinGrad, IndexSelectRepeatedIndicesAddUp) {
  Tensor x = from_vector<double>({1, 2, 3, 4}).requires_grad_();
  Tensor y = index_select(x, 0, idx({1, 3, 1, 1}));
  y.backward(from_vector<double>({1, 10, 100, 1000}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1101, 0, 10}));
  Tensor z = random_f64({3, 4, 2}, -1, 1, 8);
  const std::vector<Tensor> per_dim{idx({2, 0, 2, 2, 1}), idx({3, 0, 3, 1}), idx({1, 1, 0})};
  for (int64_t d = 0; d < 3; ++d) {
    Tensor i = per_dim[d];
    EXPECT_TRUE(gradcheck([d, i](const Inputs& v) { return index_select(v[0], d, i); }, {z}))
        << "dim " << d;
  }
  EXPECT_TRUE(gradcheck(
      [](const Inputs& v) {
        return index_select(v[0].permute({2, 0, 1}), 2, idx({3, 3, 0}));
      },
      {z}));
}

TEST(JoinGrad, GatherAlongDims0And1) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor y = gather(x, 1, idx({2, 2, 0, 1}, {2, 2}));
  y.backward(from_vector<double>({1, 10, 100, 1000}, {2, 2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 11, 100, 1000, 0}));
  Tensor z = random_f64({3, 4}, -1, 1, 9);
  Tensor i0 = idx({2, 0, 1, 2, 2, 2, 0, 0}, {2, 4});
  Tensor i1 = idx({3, 3, 0, 1, 1, 1, 2, 0, 3, 3, 3, 3, 2, 1, 0}, {3, 5});
  EXPECT_TRUE(gradcheck([i0](const Inputs& v) { return gather(v[0], 0, i0); }, {z}));
  EXPECT_TRUE(gradcheck([i1](const Inputs& v) { return gather(v[0], 1, i1); }, {z}));
  EXPECT_TRUE(gradcheck([i0](const Inputs& v) { return gather(v[0].t(), 1, i0.t()); }, {z}));
}

TEST(JoinGrad, Float32BackwardAndIndexChangedInPlace) {
  Tensor x = from_vector<float>({1, 2, 3}).requires_grad_();
  Tensor i = idx({2, 2, 0});
  sum(index_select(x, 0, i)).backward();
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{1, 0, 2}));
  Tensor y = gather(x, 0, i);
  i.fill_(1);
  expect_error([&] { sum(y).backward(); }, {"GatherBackward", "in-place"});
}

TEST(JoinErrors, CatNamesEveryMismatchingShapeAndTheDim) {
  Tensor a = zeros({2, 3}), b = zeros({4, 3}), c = zeros({2, 5}), d = zeros({2, 3, 1});
  expect_error(
      [&] {
        cat({a, b, c, d}, 1);
      },
      {"cat", "dim 1", "tensor 0 [2, 3]", "tensor 1 [4, 3]", "tensor 3 [2, 3, 1]"});
  EXPECT_EQ(error_of([&] { cat({a, c, b}, 1); }).find("[2, 5]"), std::string::npos);
  expect_error([&] { cat({a, zeros({2, 3}, DType::f64)}, 0); }, {"cat", "f32", "f64"});
  expect_error([] { cat({}, 0); }, {"cat", "at least one"});
  expect_error([&] { cat({a}, 2); }, {"cat", "dim 2"});
  expect_error([] { cat({scalar_tensor(1)}, 0); }, {"cat", "zero-dimensional"});
  expect_error([&] { cat({a, Tensor()}, 0); }, {"cat", "undefined"});
}

TEST(JoinErrors, StackNamesEveryMismatchingShape) {
  Tensor a = zeros({2, 3});
  expect_error(
      [&] {
        stack({a, zeros({2, 3}), zeros({3, 2}), zeros({6})}, 0);
      },
      {"stack", "tensor 0 [2, 3]", "tensor 2 [3, 2]", "tensor 3 [6]"});
  expect_error([&] { stack({a, a}, 3); }, {"stack", "dim 3"});
  expect_error([] { stack({}, 0); }, {"stack", "at least one"});
}

TEST(JoinErrors, IndexSelectNamesTheFirstBadIndex) {
  Tensor x = zeros({2, 4});
  expect_error(
      [&] {
        index_select(x, 1, idx({0, 4, -1, 7}));
      },
      {"index_select", "index 4 at position [1]", "dim 1 of size 4", "[2, 4]"});
  expect_error([&] { index_select(x, 0, idx({1, -1})); }, {"index -1 at position [1]", "size 2"});
  expect_error([&] { index_select(x, 0, from_vector<float>({0})); },
               {"index_select", "dtype f32", "i64"});
  expect_error([&] { index_select(x, 0, idx({0, 1}, {1, 2})); }, {"index_select", "1-D", "[1, 2]"});
  expect_error([&] { index_select(x, 2, idx({0})); }, {"index_select", "dim 2"});
  expect_error([] { index_select(scalar_tensor(1), 0, idx({0})); }, {"index_select", "[]"});
  expect_error([&] { index_select(x.to(DType::bf16), 0, idx({0})); }, {"index_select", "bf16"});
}

TEST(JoinErrors, GatherChecksIndexShapeAndValues) {
  Tensor x = zeros({2, 3});
  expect_error(
      [&] {
        gather(x, 1, idx({0, 1}, {1, 2}));
      },
      {"gather", "[1, 2]", "[2, 3]", "except dim 1"});
  expect_error([&] { gather(x, 0, idx({0, 1, 2})); }, {"gather", "[3]", "[2, 3]"});
  expect_error(
      [&] {
        gather(x, 1, idx({0, 1, 2, 2, 3, -4}, {2, 3}));
      },
      {"gather", "index 3 at position [1, 1]", "dim 1 of size 3"});
  expect_error([&] { gather(x, 0, zeros({2, 3})); }, {"gather", "f32", "i64"});
}

}  // namespace
}  // namespace signet
