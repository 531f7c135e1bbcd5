// Views and strides, shared storage, view gradients, creation, printing and argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"
#include "tests/support/expect_error.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::expect_error;

using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;
using Index = std::vector<int64_t>;

// Row-major values of shape, element by element from f(multi-index).
std::vector<double> expected(const Shape& shape, const std::function<double(const Index&)>& f) {
  std::vector<double> out;
  Index i(shape.size(), 0);
  for (int64_t n = 0; n < shape_numel(shape); ++n) {
    out.push_back(f(i));
    for (size_t k = shape.size(); k-- > 0;) {
      if (++i[k] < shape[k]) break;
      i[k] = 0;
    }
  }
  return out;
}

// A [2, 3, 4] f64 tensor whose element [i][j][k] holds its flat index 12 i + 4 j + k.
Tensor base() {
  return arange(0, 24, 1, DType::f64).view({2, 3, 4});
}

// The value base() holds at [i][j][k].
double at(int64_t i, int64_t j, int64_t k) {
  return static_cast<double>(12 * i + 4 * j + k);
}

// Expects view to have shape and the values f gives, read through to_vector.
void expect_values(const Tensor& view, const Shape& shape,
                   const std::function<double(const Index&)>& f) {
  EXPECT_EQ(view.shape(), shape);
  EXPECT_EQ(view.to_vector<double>(), expected(shape, f));
}

TEST(ViewValues, PermuteTransposeAndT) {
  Tensor x = base();
  expect_values(x.permute({2, 0, 1}), {4, 2, 3},
                [](const Index& i) { return at(i[1], i[2], i[0]); });
  expect_values(x.permute({-1, 1, 0}), {4, 3, 2},
                [](const Index& i) { return at(i[2], i[1], i[0]); });
  expect_values(x.transpose(0, 2), {4, 3, 2}, [](const Index& i) { return at(i[2], i[1], i[0]); });
  expect_values(x.transpose(1, -1), {2, 4, 3}, [](const Index& i) { return at(i[0], i[2], i[1]); });
  Tensor m = arange(0, 6, 1, DType::f64).view({2, 3});
  expect_values(m.t(), {3, 2}, [](const Index& i) { return static_cast<double>(3 * i[1] + i[0]); });
  expect_values(x.permute({1, 2, 0}).permute({2, 0, 1}), {2, 3, 4},
                [](const Index& i) { return at(i[0], i[1], i[2]); });
}

TEST(ViewValues, NarrowAndSlice) {
  Tensor x = base();
  expect_values(x.narrow(1, 1, 2), {2, 2, 4},
                [](const Index& i) { return at(i[0], i[1] + 1, i[2]); });
  expect_values(x.narrow(-1, 3, 1), {2, 3, 1}, [](const Index& i) { return at(i[0], i[1], 3); });
  expect_values(x.slice(2, 1, 4, 2), {2, 3, 2},
                [](const Index& i) { return at(i[0], i[1], 1 + 2 * i[2]); });
  expect_values(x.slice(2, 0, 4, 3), {2, 3, 2},
                [](const Index& i) { return at(i[0], i[1], 3 * i[2]); });
  expect_values(x.slice(1, -2, -1), {2, 1, 4}, [](const Index& i) { return at(i[0], 1, i[2]); });
  expect_values(x.slice(0, 1, 100), {1, 3, 4}, [](const Index& i) { return at(1, i[1], i[2]); });
  EXPECT_EQ(x.slice(1, 2, 2).shape(), (Shape{2, 0, 4}));
  EXPECT_EQ(x.slice(1, 2, 2).numel(), 0);
}

TEST(ViewValues, ExpandSqueezeUnsqueeze) {
  Tensor col = from_vector<double>({1, 2, 3}, {3, 1});
  expect_values(col.expand({2, 3, 4}), {2, 3, 4}, [](const Index& i) { return i[1] + 1.0; });
  expect_values(col.expand({-1, 5}), {3, 5}, [](const Index& i) { return i[0] + 1.0; });
  Tensor y = arange(0, 6, 1, DType::f64).view({1, 2, 1, 3});
  auto flat = [](const Index& i) { return static_cast<double>(3 * i[0] + i[1]); };
  expect_values(y.squeeze(), {2, 3}, flat);
  EXPECT_EQ(y.squeeze(0).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(y.squeeze(-2).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(y.squeeze(1).shape(), (Shape{1, 2, 1, 3}));
  EXPECT_EQ(y.squeeze(2).to_vector<double>(), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  Tensor x = base();
  expect_values(x.unsqueeze(0), {1, 2, 3, 4}, [](const Index& i) { return at(i[1], i[2], i[3]); });
  expect_values(x.unsqueeze(-1), {2, 3, 4, 1}, [](const Index& i) { return at(i[0], i[1], i[2]); });
  expect_values(x.transpose(0, 2).unsqueeze(1), {4, 1, 3, 2},
                [](const Index& i) { return at(i[3], i[2], i[0]); });
}

TEST(ViewValues, FlattenViewReshapeContiguousClone) {
  Tensor x = base();
  auto flat = [](const Index& i) { return static_cast<double>(i[0]); };
  expect_values(x.flatten(), {24}, flat);
  expect_values(x.view({-1, 8}), {3, 8}, [](const Index& i) { return 8.0 * i[0] + i[1]; });
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 12}));
  EXPECT_EQ(x.flatten(0, 1).shape(), (Shape{6, 4}));
  expect_values(x.permute({2, 0, 1}).flatten(1), {4, 6},
                [](const Index& i) { return at(i[1] / 3, i[1] % 3, i[0]); });
  expect_values(x.transpose(0, 1).reshape({3, 8}), {3, 8},
                [](const Index& i) { return at(i[1] / 4, i[0], i[1] % 4); });
  Tensor c = x.permute({2, 0, 1}).contiguous();
  EXPECT_TRUE(c.is_contiguous());
  expect_values(c, {4, 2, 3}, [](const Index& i) { return at(i[1], i[2], i[0]); });
  Tensor k = x.slice(2, 1, 4, 2).clone();
  EXPECT_TRUE(k.is_contiguous());
  EXPECT_NE(k.storage().get(), x.storage().get());
  expect_values(k, {2, 3, 2}, [](const Index& i) { return at(i[0], i[1], 1 + 2 * i[2]); });
  EXPECT_EQ(scalar_tensor(5, DType::f64).flatten().shape(), (Shape{1}));
}

TEST(Strides, AfterEachViewOp) {
  Tensor x = base();
  EXPECT_EQ(x.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(x.permute({2, 0, 1}).strides(), (Shape{1, 12, 4}));
  EXPECT_EQ(x.transpose(0, 2).strides(), (Shape{1, 4, 12}));
  Tensor s = x.slice(2, 1, 4, 2);
  EXPECT_EQ(s.strides(), (Shape{12, 4, 2}));
  EXPECT_EQ(s.offset(), 1);
  Tensor n = x.narrow(1, 1, 2);
  EXPECT_EQ(n.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(n.offset(), 4);
  EXPECT_EQ(x.narrow(0, 1, 1).offset(), 12);
  EXPECT_EQ(x.permute({2, 0, 1}).slice(0, 1, 4, 2).strides(), (Shape{2, 12, 4}));
  Tensor e = from_vector<double>({1, 2, 3}, {3, 1}).expand({2, 3, 4});
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  EXPECT_EQ(x.unsqueeze(1).strides(), (Shape{12, 12, 4, 1}));
  EXPECT_EQ(x.unsqueeze(3).strides(), (Shape{12, 4, 1, 1}));
}

TEST(Strides, IsContiguous) {
  Tensor x = base();
  EXPECT_TRUE(x.is_contiguous());
  EXPECT_FALSE(x.permute({2, 0, 1}).is_contiguous());
  EXPECT_FALSE(x.transpose(1, 2).is_contiguous());
  EXPECT_TRUE(x.narrow(0, 1, 1).is_contiguous());
  EXPECT_FALSE(x.narrow(1, 1, 2).is_contiguous());
  EXPECT_FALSE(x.slice(2, 0, 4, 2).is_contiguous());
  EXPECT_FALSE(from_vector<double>({1, 2, 3}, {3, 1}).expand({3, 2}).is_contiguous());
  EXPECT_TRUE(x.unsqueeze(1).is_contiguous());
  EXPECT_TRUE(zeros({1, 3}).t().is_contiguous());  // size-1 dims do not count
  EXPECT_TRUE(x.permute({2, 0, 1}).contiguous().is_contiguous());
}

TEST(SharedStorage, ViewsShareAndWritesShowInTheBase) {
  Tensor x = base();
  for (const Tensor& v :
       {x.view({6, 4}), x.permute({2, 0, 1}), x.transpose(0, 1), x.narrow(1, 0, 2),
        x.slice(2, 0, 4, 2), x.unsqueeze(0), x.unsqueeze(0).squeeze(0), x.flatten(),
        x.unsqueeze(1).expand({2, 5, 3, 4}), x.detach()})
    EXPECT_EQ(v.storage().get(), x.storage().get());
  NoGradGuard no_grad;
  Tensor z = zeros({3, 4}, DType::f64);
  const uint64_t v0 = z.version();
  Tensor v = z.permute({1, 0}).slice(0, 1, 4, 2);  // v[a][b] = z[b][1 + 2 a]
  v.fill_(7);
  EXPECT_EQ(z.to_vector<double>(), (std::vector<double>{0, 7, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7}));
  EXPECT_EQ(z.version(), v0 + 1);
  EXPECT_EQ(v.version(), z.version());
  v.copy_(from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_EQ(z.to_vector<double>(), (std::vector<double>{0, 1, 0, 4, 0, 2, 0, 5, 0, 3, 0, 6}));
  EXPECT_EQ(z.version(), v0 + 2);
  z.narrow(0, 2, 1).add_(ones({4}, DType::f64), 10.0);
  z.narrow(1, 0, 1).mul_(-1.0);
  EXPECT_EQ(z.to_vector<double>(), (std::vector<double>{0, 1, 0, 4, 0, 2, 0, 5, -10, 13, 10, 16}));
  EXPECT_EQ(z.version(), v0 + 4);
}

TEST(SharedStorage, InPlaceThroughAViewOfALeafNeedingGrad) {
  Tensor x = zeros({2, 3}, DType::f64).requires_grad_();
  expect_error([&] { x.narrow(1, 0, 1).fill_(1); }, {"fill_", "in-place", "requires grad"});
  expect_error([&] { x.t().copy_(ones({3, 2}, DType::f64)); }, {"copy_", "[3, 2]"});
  {
    NoGradGuard no_grad;
    Tensor v = x.narrow(1, 0, 1);
    EXPECT_FALSE(v.requires_grad());
    v.fill_(1);
  }
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{1, 0, 0, 1, 0, 0}));
}

TEST(SharedStorage, InPlaceChangeOfASavedTensorThroughAViewIsCaught) {
  Tensor w = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor a = from_vector<double>({4, 5, 6});
  Tensor y = sum(w * a);
  a.narrow(0, 1, 1).fill_(0);
  expect_error([&] { y.backward(); }, {"MulBackward", "modified by an in-place operation"});
}

TEST(SharedStorage, ReshapeViewsWhenItCanAndCopiesOtherwise) {
  Tensor x = base();
  EXPECT_EQ(x.reshape({6, 4}).storage().get(), x.storage().get());
  Tensor tail = x.narrow(0, 1, 1).reshape({12});
  EXPECT_EQ(tail.storage().get(), x.storage().get());
  expect_values(tail, {12}, [](const Index& i) { return 12.0 + i[0]; });
  Tensor p = x.permute({2, 0, 1}).reshape({24});
  EXPECT_NE(p.storage().get(), x.storage().get());
  expect_values(p, {24}, [](const Index& i) { return at(i[0] % 6 / 3, i[0] % 3, i[0] / 6); });
  Tensor e = from_vector<double>({1, 2}, {2, 1}).expand({2, 3});
  EXPECT_NE(e.reshape({6}).storage().get(), e.storage().get());
  EXPECT_EQ(e.reshape({6}).to_vector<double>(), (std::vector<double>{1, 1, 1, 2, 2, 2}));
  Tensor same = x.contiguous();
  EXPECT_TRUE(same.same(x));
}

TEST(ViewGrad, PermutedThenSlicedGradientLandsInPlace) {
  Tensor x = base().clone().requires_grad_();
  Tensor y = x.permute({2, 0, 1}).slice(0, 1, 4, 2);  // y[a][b][c] = x[b][c][1 + 2 a]
  expect_values(y.detach(), {2, 2, 3}, [](const Index& i) { return at(i[1], i[2], 1 + 2 * i[0]); });
  Tensor w = arange(1, 13, 1, DType::f64).view({2, 2, 3});  // w[a][b][c] = 1 + 6 a + 3 b + c
  sum(y * w).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(x.grad().to_vector<double>(), expected({2, 3, 4}, [](const Index& i) {
              return i[2] % 2 == 1 ? 1.0 + 6 * (i[2] / 2) + 3 * i[0] + i[1] : 0.0;
            }));
}

TEST(ViewGrad, OverlappingAndExpandedViewsAddUp) {
  Tensor x = from_vector<double>({1, 2, 3, 4}).requires_grad_();
  sum(x.narrow(0, 0, 3) + x.narrow(0, 1, 3)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 2, 2, 1}));
  x.zero_grad();
  sum(x.view({4, 1}).expand({4, 3}) * from_vector<double>({1, 10, 100})).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{111, 111, 111, 111}));
  x.zero_grad();
  Tensor d = x.detach().permute({0});
  EXPECT_FALSE(d.requires_grad());
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(x.slice(0, 0, 4, 2).requires_grad());
  }
  sum(x * d.slice(0, 0, 4)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 2, 3, 4}));
}

TEST(ViewGrad, GradcheckEveryViewOp) {
  Tensor x = random_f64({2, 3, 4}, -1, 1, 21);
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> views{
      {"permute",
       [](const Tensor& v) {
         return v.permute({2, 0, 1});
       }},
      {"permute negative",
       [](const Tensor& v) {
         return v.permute({1, -1, 0});
       }},
      {"transpose", [](const Tensor& v) { return v.transpose(0, 2); }},
      {"t", [](const Tensor& v) { return v.flatten(0, 1).t(); }},
      {"narrow", [](const Tensor& v) { return v.narrow(1, 1, 2); }},
      {"slice step", [](const Tensor& v) { return v.slice(2, 0, 4, 3); }},
      {"slice negative", [](const Tensor& v) { return v.slice(1, -2, 3); }},
      {"expand",
       [](const Tensor& v) {
         return v.narrow(2, 1, 1).expand({5, 2, 3, 4});
       }},
      {"expand -1",
       [](const Tensor& v) {
         return v.narrow(0, 0, 1).expand({3, -1, -1});
       }},
      {"squeeze dim", [](const Tensor& v) { return v.narrow(1, 2, 1).squeeze(1); }},
      {"squeeze all", [](const Tensor& v) { return v.narrow(0, 1, 1).narrow(2, 0, 1).squeeze(); }},
      {"unsqueeze", [](const Tensor& v) { return v.unsqueeze(1); }},
      {"unsqueeze last", [](const Tensor& v) { return v.transpose(0, 1).unsqueeze(-1); }},
      {"flatten", [](const Tensor& v) { return v.flatten(); }},
      {"flatten range", [](const Tensor& v) { return v.flatten(1, 2); }},
      {"view",
       [](const Tensor& v) {
         return v.view({4, -1});
       }},
      {"reshape strided",
       [](const Tensor& v) {
         return v.permute({2, 0, 1}).reshape({4, 6});
       }},
      {"contiguous", [](const Tensor& v) { return v.transpose(1, 2).contiguous(); }},
      {"clone", [](const Tensor& v) { return v.slice(2, 1, 4, 2).clone(); }},
      {"chain", [](const Tensor& v) {
         return v.transpose(0, 1).slice(0, 0, 3, 2).unsqueeze(1).expand({2, 5, 2, 4});
       }}};
  for (const auto& view : views) {
    const auto& fn = view.second;
    EXPECT_TRUE(gradcheck([&fn](const Inputs& v) { return fn(v[0]); }, {x})) << view.first;
  }
}

TEST(ViewGrad, ToDtypeFlow) {
  Tensor x = from_vector<double>({1.5, -2.25}).requires_grad_();
  Tensor y = x.to(DType::f32);
  EXPECT_EQ(y.dtype(), DType::f32);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1.5f, -2.25f}));
  Tensor z = y.to(DType::f64);
  EXPECT_EQ(z.dtype(), DType::f64);
  sum(z * from_vector<double>({3, 0.5})).backward();
  EXPECT_EQ(x.grad().dtype(), DType::f64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 0.5}));
  EXPECT_TRUE(x.to(DType::f64).same(x));
  EXPECT_TRUE(x.to(Device::cpu()).same(x));
  Tensor i = x.to(DType::i64);
  EXPECT_FALSE(i.requires_grad());
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, -2}));
}

TEST(Creation, ConstantsDtypesAndShapes) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.dtype(), DType::f32);
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ones({4}, DType::i64).to_vector<int64_t>(), std::vector<int64_t>(4, 1));
  EXPECT_EQ(full({2, 2}, 2.5, DType::f64).to_vector<double>(), std::vector<double>(4, 2.5));
  EXPECT_EQ(full({3}, 200, DType::u8).to_vector<uint8_t>(), std::vector<uint8_t>(3, 200));
  EXPECT_EQ(empty({0, 3}).numel(), 0);
  Tensor s = scalar_tensor(4.5, DType::f64);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_DOUBLE_EQ(s.item(), 4.5);
  Tensor like = ones_like(z);
  EXPECT_EQ(like.shape(), z.shape());
  EXPECT_EQ(like.dtype(), DType::f32);
  EXPECT_EQ(zeros_like(ones({3}, DType::u8)).to_vector<uint8_t>(), std::vector<uint8_t>(3, 0));
  EXPECT_DOUBLE_EQ(scalar_tensor(3, DType::i64).item(), 3);
  EXPECT_DOUBLE_EQ(scalar_tensor(250, DType::u8).item(), 250);
  expect_error([] { empty({2, -1}); }, {"empty", "negative", "[2, -1]"});
}

TEST(Creation, ArangeBothForms) {
  Tensor a = arange(5);
  EXPECT_EQ(a.dtype(), DType::i64);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(0).shape(), (Shape{0}));
  Tensor f = arange(1, 2, 0.25);
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{1, 1.25f, 1.5f, 1.75f}));
  EXPECT_EQ(arange(5, 0, -2, DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_EQ(arange(0, 3, 1, DType::f64).to_vector<double>(), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(arange(3, 1, 1, DType::f64).numel(), 0);
  expect_error([] { arange(0, 1, 0); }, {"arange", "step"});
}

TEST(Creation, FromVector) {
  Tensor v = from_vector<double>({1, 2, 3});
  EXPECT_EQ(v.shape(), (Shape{3}));
  EXPECT_EQ(v.dtype(), DType::f64);
  Tensor m = from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {3, 2});
  EXPECT_EQ(m.shape(), (Shape{3, 2}));
  EXPECT_EQ(m.dtype(), DType::i64);
  EXPECT_EQ(m.narrow(0, 2, 1).to_vector<int64_t>(), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(from_vector<uint8_t>({9}).dtype(), DType::u8);
  EXPECT_EQ(from_vector<float>({1.5f}).dtype(), DType::f32);
  expect_error(
      [] {
        from_vector<double>({1, 2, 3}, {2, 2});
      },
      {"from_vector", "3 values", "[2, 2]"});
}

TEST(Creation, RandAndRandn) {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor u = rand({50, 20}, dt);
    EXPECT_EQ(u.dtype(), dt);
    EXPECT_EQ(u.shape(), (Shape{50, 20}));
    std::vector<double> values = u.to(DType::f64).to_vector<double>();
    double lo = 1, hi = 0;
    for (double x : values) {
      EXPECT_GE(x, 0.0);
      EXPECT_LT(x, 1.0);
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    EXPECT_LT(lo, hi);
    Tensor n = randn({1000}, dt);
    EXPECT_EQ(n.dtype(), dt);
    EXPECT_EQ(n.shape(), (Shape{1000}));
    std::vector<double> normals = n.to(DType::f64).to_vector<double>();
    int negative = 0;
    for (double x : normals) {
      EXPECT_TRUE(std::isfinite(x));
      negative += x < 0;
    }
    EXPECT_GT(negative, 0);
    EXPECT_LT(negative, 1000);
  }
  RngStream s1 = init_stream(7), s2 = init_stream(7);
  EXPECT_EQ(rand({9}, DType::f64, &s1).to_vector<double>(),
            rand({9}, DType::f64, &s2).to_vector<double>());
  EXPECT_NE(rand({9}, DType::f64, &s1).to_vector<double>(),
            rand({9}, DType::f64, &s1).to_vector<double>());
  expect_error([] { rand({2}, DType::i64); }, {"rand", "i64"});
  expect_error([] { randn({2}, DType::u8); }, {"randn", "u8"});
}

TEST(Printing, StrNamesShapeDtypeAndValues) {
  Tensor z = zeros({2, 3});
  std::string s = z.str();
  EXPECT_NE(s.find("shape=[2, 3]"), std::string::npos) << s;
  EXPECT_NE(s.find("dtype=f32"), std::string::npos) << s;
  EXPECT_NE(s.find("device=cpu"), std::string::npos) << s;
  EXPECT_NE(from_vector<int64_t>({7, 8}).str().find("7 8"), std::string::npos);
  EXPECT_NE(from_vector<double>({1}).requires_grad_().str().find("requires_grad"),
            std::string::npos);
  EXPECT_NE(base().permute({2, 0, 1}).str().find("shape=[4, 2, 3], dtype=f64"), std::string::npos);
  EXPECT_NE(zeros({100}).str().find("more"), std::string::npos);
  EXPECT_EQ(Tensor().str(), "Tensor(undefined)");
  std::ostringstream os;
  os << z;
  EXPECT_EQ(os.str(), s);
}

TEST(Readback, DtypeAndShapeMismatchErrors) {
  expect_error([] { from_vector<double>({1, 2}).item(); }, {"item", "one-element", "[2]"});
  expect_error([] { from_vector<double>({1, 2}).to_vector<float>(); }, {"to_vector", "f64", "f32"});
  expect_error([] { arange(3).to_vector<double>(); }, {"to_vector", "i64", "f64"});
  expect_error([] { zeros({2}).data<int64_t>(); }, {"data", "f32", "i64"});
  expect_error([] { Tensor().shape(); }, {"undefined"});
  EXPECT_DOUBLE_EQ(from_vector<float>({2.5f}, {1, 1}).item(), 2.5);
}

TEST(ViewErrors, MessagesNameTheShapes) {
  Tensor x = base();
  expect_error([&] { x.view({5, 5}); }, {"view", "[2, 3, 4]", "[5, 5]"});
  expect_error([&] { x.view({-1, -1}); }, {"view", "only one dimension can be -1"});
  expect_error([&] { x.view({7, -1}); }, {"view", "[2, 3, 4]", "[7, -1]"});
  expect_error(
      [&] {
        x.permute({2, 0, 1}).view({24});
      },
      {"view", "[4, 2, 3]", "not contiguous", "reshape"});
  expect_error([&] { x.reshape({5, -1}); }, {"reshape", "[2, 3, 4]", "[5, -1]"});
  expect_error([&] { x.permute({0, 1}); }, {"permute", "2 dims", "[2, 3, 4]"});
  expect_error([&] { x.permute({0, 0, 1}); }, {"permute", "repeated"});
  expect_error([&] { x.permute({0, 1, 3}); }, {"permute", "dim 3", "out of range"});
  expect_error([&] { x.expand({2, 5, 4}); }, {"expand", "[2, 3, 4]", "[2, 5, 4]"});
  expect_error([&] { x.expand({4}); }, {"expand", "[2, 3, 4]", "[4]"});
  expect_error([&] { x.narrow(1, 2, 2); }, {"narrow", "start 2", "length 2", "dim 1", "[2, 3, 4]"});
  expect_error([&] { x.narrow(0, 0, -1); }, {"narrow", "[2, 3, 4]"});
  expect_error([&] { x.narrow(3, 0, 1); }, {"narrow", "dim 3"});
  expect_error([&] { x.slice(1, 0, 2, 0); }, {"slice", "step"});
  expect_error([&] { x.transpose(0, 3); }, {"transpose", "dim 3"});
  expect_error([&] { x.t(); }, {"t:", "2-D", "[2, 3, 4]"});
  expect_error([&] { x.squeeze(3); }, {"squeeze", "dim 3"});
  expect_error([&] { x.unsqueeze(4); }, {"unsqueeze", "dim 4"});
  expect_error([&] { x.flatten(2, 1); }, {"flatten", "start_dim"});
  expect_error([] { arange(3).requires_grad_(); }, {"requires_grad_", "i64"});
}

}  // namespace
}  // namespace signet
