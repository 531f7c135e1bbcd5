// matmul and linear: values against loops, torch.matmul shape rules, errors and f64 gradchecks.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/ops/reduce.h"
#include "tests/support/expect_error.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::error_of;

using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

// Row-major product of an m x k and a k x n matrix held in vectors.
std::vector<double> loop_product(const std::vector<double>& a, const std::vector<double>& b,
                                 int64_t m, int64_t k, int64_t n) {
  std::vector<double> c(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t l = 0; l < k; ++l) c[i * n + j] += a[i * k + l] * b[l * n + j];
  return c;
}

// Expects two value lists to agree element by element within tol.
void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

TEST(Matmul, TwoDMatchesLoop) {
  Tensor a = random_f64({3, 5}, -1, 1, 1), b = random_f64({5, 7}, -1, 1, 2);
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{3, 7}));
  expect_near(c.to_vector<double>(),
              loop_product(a.to_vector<double>(), b.to_vector<double>(), 3, 5, 7), 1e-14);
}

TEST(Matmul, TransposedAndStridedOperandsMatchLoop) {
  Tensor at = random_f64({5, 3}, -1, 1, 3), bt = random_f64({7, 5}, -1, 1, 4);
  std::vector<double> want = loop_product(at.t().contiguous().to_vector<double>(),
                                          bt.t().contiguous().to_vector<double>(), 3, 5, 7);
  expect_near(matmul(at.t(), bt.t()).to_vector<double>(), want, 1e-14);
  Tensor wide = random_f64({3, 9}, -1, 1, 5);
  Tensor a = wide.narrow(1, 2, 5);  // rows 9 apart: passed with a leading dimension of 9
  Tensor b = random_f64({5, 7}, -1, 1, 6);
  expect_near(matmul(a, b).to_vector<double>(),
              loop_product(a.contiguous().to_vector<double>(), b.to_vector<double>(), 3, 5, 7),
              1e-14);
  Tensor every_other = random_f64({5, 14}, -1, 1, 7).slice(1, 0, 14, 2);  // column stride 2
  expect_near(matmul(a, every_other).to_vector<double>(),
              loop_product(a.contiguous().to_vector<double>(),
                           every_other.contiguous().to_vector<double>(), 3, 5, 7),
              1e-14);
}

TEST(Matmul, BatchedBroadcastMatchesLoop) {
  Tensor a = random_f64({2, 1, 3, 4}, -1, 1, 8), b = random_f64({5, 4, 2}, -1, 1, 9);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 5, 3, 2}));
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> want;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t p = 0; p < 3; ++p)
        for (int64_t q = 0; q < 2; ++q) {
          double s = 0;
          for (int64_t l = 0; l < 4; ++l) s += av[(i * 3 + p) * 4 + l] * bv[(j * 4 + l) * 2 + q];
          want.push_back(s);
        }
  expect_near(c.to_vector<double>(), want, 1e-14);
  // A batched transposed view goes in as stored (trans_a) and still matches.
  Tensor at = random_f64({5, 4, 3}, -1, 1, 10);
  Tensor ct = matmul(at.transpose(-1, -2), b);
  for (int64_t j = 0; j < 5; ++j)
    expect_near(ct.narrow(0, j, 1).contiguous().to_vector<double>(),
                loop_product(at.narrow(0, j, 1).squeeze(0).t().contiguous().to_vector<double>(),
                             b.narrow(0, j, 1).contiguous().to_vector<double>(), 3, 4, 2),
                1e-14);
}

TEST(Matmul, StridedBatchesMatchLoop) {
  // Batches one stride apart but rows not packed (narrowed), and batches that cannot be
  // flattened to one stride (permuted batch dims).
  Tensor narrowed = random_f64({2, 3, 8, 5}, -1, 1, 15).narrow(2, 0, 4);
  Tensor permuted = random_f64({2, 3, 4, 5}, -1, 1, 16).permute({1, 0, 2, 3});
  Tensor b = random_f64({5, 3}, -1, 1, 17).expand({3, 2, 5, 3});
  Tensor bb = random_f64({2, 3, 5, 3}, -1, 1, 18);
  for (auto [a, rhs] : {std::pair<Tensor, Tensor>{narrowed, bb}, {permuted, b}}) {
    Tensor c = matmul(a, rhs);
    ASSERT_EQ(c.shape(), (Shape{a.size(0), a.size(1), 4, 3}));
    for (int64_t i = 0; i < a.size(0); ++i)
      for (int64_t j = 0; j < a.size(1); ++j) {
        auto item = [&](const Tensor& t) { return t.narrow(0, i, 1).narrow(1, j, 1).contiguous(); };
        expect_near(
            item(c).to_vector<double>(),
            loop_product(item(a).to_vector<double>(), item(rhs).to_vector<double>(), 4, 5, 3),
            1e-14);
      }
  }
}

TEST(Matmul, OneDimensionalOperandsFollowTorch) {
  Tensor v = from_vector<double>({1, 2, 3, 4});
  Tensor m = arange(0, 12, 1, DType::f64).reshape({4, 3});
  EXPECT_EQ(matmul(v, v).shape(), Shape{});
  EXPECT_DOUBLE_EQ(matmul(v, v).item(), 30);
  EXPECT_EQ(matmul(v, m).to_vector<double>(), (std::vector<double>{60, 70, 80}));
  EXPECT_EQ(matmul(m.t(), v).to_vector<double>(), (std::vector<double>{60, 70, 80}));
  // v (4) @ B (2, 4, 3) -> (2, 3) and B^T (2, 3, 4) @ v -> (2, 3), both sum_l v[l] B[b][l][j].
  Tensor bm = arange(0, 24, 1, DType::f64).reshape({2, 4, 3});
  std::vector<double> want;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < 3; ++j) {
      double s = 0;
      for (int64_t l = 0; l < 4; ++l) s += (l + 1) * static_cast<double>(b * 12 + l * 3 + j);
      want.push_back(s);
    }
  EXPECT_EQ(matmul(v, bm).shape(), (Shape{2, 3}));
  EXPECT_EQ(matmul(v, bm).to_vector<double>(), want);
  EXPECT_EQ(matmul(bm.transpose(1, 2), v).shape(), (Shape{2, 3}));
  EXPECT_EQ(matmul(bm.transpose(1, 2), v).to_vector<double>(), want);
}

TEST(Matmul, EmptyInnerDimGivesZeros) {
  Tensor c = matmul(zeros({3, 0}, DType::f64), zeros({0, 2}, DType::f64));
  EXPECT_EQ(c.to_vector<double>(), std::vector<double>(6, 0.0));
}

TEST(Matmul, FloatAgreesWithDouble) {
  Tensor a = random_f64({2, 1, 3, 6}, -1, 1, 11), b = random_f64({5, 6, 4}, -1, 1, 12);
  std::vector<double> d = matmul(a, b).to_vector<double>();
  std::vector<float> f = matmul(a.to(DType::f32), b.to(DType::f32)).to_vector<float>();
  ASSERT_EQ(d.size(), f.size());
  for (size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(f[i], d[i], 1e-5) << "element " << i;
}

TEST(Matmul, ErrorsNameTheShapes) {
  std::string m = error_of([] { matmul(zeros({3, 5}), zeros({4, 7})); });
  EXPECT_NE(m.find("matmul"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 5]"), std::string::npos) << m;
  EXPECT_NE(m.find("[4, 7]"), std::string::npos) << m;
  m = error_of([] { matmul(zeros({2, 3, 4}), zeros({3, 4, 5})); });
  EXPECT_NE(m.find("[2, 3, 4]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 4, 5]"), std::string::npos) << m;
  m = error_of([] { matmul(zeros({3}), zeros({4})); });
  EXPECT_NE(m.find("[3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  EXPECT_THROW(matmul(scalar_tensor(1.0), zeros({1})), Error);
  EXPECT_THROW(matmul(zeros({2, 2}), zeros({2, 2}, DType::f64)), Error);
  EXPECT_THROW(matmul(arange(4).reshape({2, 2}), arange(4).reshape({2, 2})), Error);
}

TEST(Linear, MatchesLoopWithAndWithoutBias) {
  Tensor x = random_f64({4, 7}, -1, 1, 13), w = random_f64({3, 7}, -1, 1, 14);
  Tensor b = from_vector<double>({0.5, -1, 2});
  std::vector<double> xw =
      loop_product(x.to_vector<double>(), w.t().contiguous().to_vector<double>(), 4, 7, 3);
  expect_near(linear(x, w).to_vector<double>(), xw, 1e-14);
  for (size_t i = 0; i < xw.size(); ++i) xw[i] += b.to_vector<double>()[i % 3];
  expect_near(linear(x, w, b).to_vector<double>(), xw, 1e-14);
  EXPECT_EQ(linear(random_f64({2, 5, 7}), w, b).shape(), (Shape{2, 5, 3}));
  EXPECT_EQ(linear(random_f64({7}), w, b).shape(), (Shape{3}));
}

TEST(Linear, ErrorsNameTheShapes) {
  std::string m = error_of([] { linear(zeros({4, 7}), zeros({3, 5})); });
  EXPECT_NE(m.find("linear: input [4, 7] and weight [3, 5]: in_features 7 != 5"), std::string::npos)
      << m;
  m = error_of([] { linear(zeros({4, 5}), zeros({3, 5}), zeros({4})); });
  EXPECT_NE(m.find("bias [4]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 5]"), std::string::npos) << m;
  EXPECT_THROW(linear(zeros({4, 5}), zeros({5})), Error);
}

TEST(MatmulGrad, TwoD) {
  Tensor a = random_f64({3, 5}, -1, 1, 21), b = random_f64({5, 7}, -1, 1, 22);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a, b}));
}

TEST(MatmulGrad, TransposedViews) {
  Tensor a = random_f64({5, 3}, -1, 1, 23), b = random_f64({7, 5}, -1, 1, 24);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return matmul(v[0].t(), v[1].t()); }, {a, b}));
}

TEST(MatmulGrad, BatchedBroadcast) {
  Tensor a = random_f64({2, 1, 3, 4}, -1, 1, 25), b = random_f64({5, 4, 2}, -1, 1, 26);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a, b}));
  Tensor w = random_f64({4, 2}, -1, 1, 27);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a, w}));
  Tensor l = random_f64({3, 4}, -1, 1, 28);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {l, b}));
}

TEST(MatmulGrad, OneDimensional) {
  Tensor v = random_f64({4}, -1, 1, 29), u = random_f64({4}, -1, 1, 30);
  Tensor m = random_f64({4, 3}, -1, 1, 31), bm = random_f64({2, 4, 3}, -1, 1, 32);
  Tensor mt = random_f64({2, 3, 4}, -1, 1, 33);
  auto mm = [](const Inputs& x) { return matmul(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(mm, {v, u}));
  EXPECT_TRUE(gradcheck(mm, {v, m}));
  EXPECT_TRUE(gradcheck([](const Inputs& x) { return matmul(x[0].t(), x[1]); }, {m, v}));
  EXPECT_TRUE(gradcheck(mm, {v, bm}));
  EXPECT_TRUE(gradcheck(mm, {mt, v}));
}

TEST(MatmulGrad, OnlyTheOperandThatNeedsIt) {
  Tensor a = random_f64({3, 5}, -1, 1, 34).requires_grad_();
  Tensor b = random_f64({5, 7}, -1, 1, 35);
  sum(matmul(a, b)).backward();
  EXPECT_FALSE(b.grad().defined());
  // d/dA sum(A B) = 1 B^T: every row of the gradient holds the row sums of B.
  std::vector<double> bv = b.to_vector<double>(), want;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t l = 0; l < 5; ++l) {
      double s = 0;
      for (int64_t j = 0; j < 7; ++j) s += bv[l * 7 + j];
      want.push_back(s);
    }
  expect_near(a.grad().to_vector<double>(), want, 1e-14);
}

TEST(LinearGrad, WithAndWithoutBias) {
  Tensor x = random_f64({4, 7}, -1, 1, 36), w = random_f64({3, 7}, -1, 1, 37);
  Tensor b = random_f64({3}, -1, 1, 38), xb = random_f64({2, 5, 7}, -1, 1, 39);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return linear(v[0], v[1]); }, {x, w}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return linear(v[0], v[1], v[2]); }, {x, w, b}));
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return linear(v[0], v[1], v[2]); }, {xb, w, b}));
  Tensor v1 = random_f64({7}, -1, 1, 40);
  EXPECT_TRUE(gradcheck([](const Inputs& v) { return linear(v[0], v[1], v[2]); }, {v1, w, b}));
}

}  // namespace
}  // namespace signet
