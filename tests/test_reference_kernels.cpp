// Hand-checkable tests of the reference kernels, the ground truth of every fast kernel.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels/common/activations.h"
#include "kernels/reference/elementwise.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/index.h"
#include "kernels/reference/nll.h"
#include "kernels/reference/reduce.h"
#include "kernels/reference/softmax.h"

namespace {

using signet::kernels::BinaryOp;
using signet::kernels::ElementwiseParams;
using signet::kernels::GemmDesc;
using signet::kernels::IndexDesc;
using signet::kernels::NllDesc;
using signet::kernels::ReduceDesc;
using signet::kernels::ReduceOp;
using signet::kernels::SoftmaxDesc;
using signet::kernels::StridedDesc;
using signet::kernels::UnaryOp;
namespace ref = signet::ref;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A StridedDesc from a shape and the strides of out, a and b.
StridedDesc strided(std::vector<int64_t> shape, std::vector<int64_t> so, std::vector<int64_t> sa,
                    std::vector<int64_t> sb = {}) {
  StridedDesc d;
  d.ndim = static_cast<int>(shape.size());
  for (int i = 0; i < d.ndim; ++i) {
    d.shape[i] = shape[i];
    d.stride[0][i] = so[i];
    d.stride[1][i] = sa[i];
    d.stride[2][i] = sb.empty() ? 0 : sb[i];
  }
  return d;
}

// A contiguous 1-d iteration space of n points for all three operands.
StridedDesc flat(int64_t n) {
  return strided({n}, {1}, {1}, {1});
}

// n values uniform in [lo, hi) from a fixed seed.
std::vector<double> uniform(size_t n, double lo, double hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = dist(gen);
  return v;
}

// Central finite difference of f at x in double.
double central_diff(const std::function<double(double)>& f, double x, double h = 1e-6) {
  return (f(x + h) - f(x - h)) / (2 * h);
}

TEST(RefElementwise, BinaryBroadcastIntoTransposedOutput) {
  // a is a (3,1) column, b a (1,4) row; the (3,4) result is stored transposed as (4,3).
  const std::vector<double> a = {1, 2, 3}, b = {10, 20, 30, 40};
  std::vector<double> out(12, -1);
  const StridedDesc d = strided({3, 4}, {1, 3}, {1, 0}, {0, 1});
  ref::binary(BinaryOp::sub, {}, d, a.data(), b.data(), out.data());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out[j * 3 + i], a[i] - b[j]) << i << "," << j;
}

TEST(RefElementwise, UnaryTransposedAndBroadcastInput) {
  // Input: a (3,4) view of a contiguous (4,3) buffer (transposed); output contiguous (3,4).
  std::vector<double> a(12);
  for (int e = 0; e < 12; ++e) a[e] = e;
  std::vector<double> out(12);
  ref::unary(UnaryOp::neg, {}, strided({3, 4}, {4, 1}, {1, 3}), a.data(), out.data());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out[i * 4 + j], -a[j * 3 + i]);
  // A (3,1) column broadcast along dim 1 of a (3,4) output.
  const std::vector<double> col = {1, 2, 3};
  ref::unary(UnaryOp::exp, {}, strided({3, 4}, {4, 1}, {1, 0}), col.data(), out.data());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(out[i * 4 + j], std::exp(col[i]));
}

TEST(RefElementwise, ThreeDimPermutedCopyAndScalar) {
  // Copy a (2,3,4) view with strides (1,2,6) of a contiguous (4,3,2) buffer into contiguous.
  std::vector<int64_t> a(24), out(24, -1);
  for (int e = 0; e < 24; ++e) a[e] = 100 + e;
  ref::unary(UnaryOp::copy, {}, strided({2, 3, 4}, {12, 4, 1}, {1, 2, 6}), a.data(), out.data());
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(out[i * 12 + j * 4 + k], a[i + j * 2 + k * 6]);
  // A 0-d iteration space has exactly one point.
  const std::vector<uint8_t> s = {7};
  std::vector<uint8_t> t = {0};
  ref::unary(UnaryOp::copy, {}, StridedDesc{}, s.data(), t.data());
  EXPECT_EQ(t[0], 7);
  // A zero-size dim touches nothing.
  ref::unary(UnaryOp::copy, {}, strided({0, 3}, {3, 1}, {3, 1}), s.data(), t.data());
  EXPECT_EQ(t[0], 7);
}

TEST(RefElementwise, FillTouchesOnlyStridedPoints) {
  std::vector<float> out(8, 0.f);
  ref::fill(strided({2, 2}, {4, 2}, {0, 0}), 5.f, out.data());
  EXPECT_EQ(out, (std::vector<float>{5, 0, 5, 0, 5, 0, 5, 0}));
  std::vector<int64_t> oi(3, 0);
  ref::fill<int64_t>(flat(3), -2, oi.data());
  EXPECT_EQ(oi, (std::vector<int64_t>{-2, -2, -2}));
}

TEST(RefElementwise, Cast) {
  const std::vector<float> f = {-1.75f, 0.5f, 2.25f, 200.f};
  std::vector<int64_t> i(4);
  ref::cast(flat(4), f.data(), i.data());
  EXPECT_EQ(i, (std::vector<int64_t>{-1, 0, 2, 200}));
  std::vector<uint8_t> u(4);
  ref::cast(flat(4), i.data() + 0, u.data());
  EXPECT_EQ(u[3], 200);
  std::vector<double> dd(4);
  ref::cast(flat(4), u.data(), dd.data());
  EXPECT_EQ(dd[3], 200.0);
  const std::vector<double> src = {0.1, -3.0};
  std::vector<float> back(2);
  ref::cast(flat(2), src.data(), back.data());
  EXPECT_EQ(back[0], 0.1f);
  EXPECT_EQ(back[1], -3.0f);
}

TEST(RefActivations, SigmoidIsStableAndGeluMatchesFiniteDifference) {
  using signet::kernels::gelu;
  using signet::kernels::gelu_grad;
  using signet::kernels::sigmoid;
  EXPECT_EQ(sigmoid(-1000.0), 0.0);
  EXPECT_EQ(sigmoid(1000.0), 1.0);
  EXPECT_EQ(sigmoid(-200.f), 0.f);
  EXPECT_EQ(sigmoid(0.0), 0.5);
  EXPECT_TRUE(std::isnan(sigmoid(kNaN)));
  EXPECT_NEAR(gelu(1.0), 0.8413447460685429, 1e-15);
  for (double x : {-4.0, -1.3, -0.2, 0.0, 0.7, 2.5})
    EXPECT_NEAR(gelu_grad(x), central_diff([](double v) { return gelu(v); }, x), 1e-8) << x;
  EXPECT_EQ(signet::kernels::relu(-2.0), 0.0);
  EXPECT_EQ(signet::kernels::leaky_relu(-2.0, 0.1), -0.2);
  EXPECT_EQ(signet::kernels::leaky_relu(3.0, 0.1), 3.0);
}

template <class T>
class RefTyped : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(RefTyped, FloatTypes);

// Relative tolerance for comparing T results with double formulas.
template <class T>
double tol() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-14;
}

// Runs a unary op on xs and checks each result against f(x) computed in double.
template <class T>
void check_unary(UnaryOp op, ElementwiseParams p, const std::vector<double>& xs,
                 const std::function<double(double)>& f) {
  std::vector<T> in(xs.begin(), xs.end()), out(xs.size());
  ref::unary(op, p, flat(static_cast<int64_t>(xs.size())), in.data(), out.data());
  for (size_t e = 0; e < xs.size(); ++e) {
    const double want = f(static_cast<double>(in[e]));
    EXPECT_NEAR(out[e], want, tol<T>() * (1 + std::abs(want)))
        << "op " << static_cast<int>(op) << " x " << xs[e];
  }
}

TYPED_TEST(RefTyped, EveryUnaryOpMatchesItsFormula) {
  using T = TypeParam;
  const std::vector<double> xs = {-3.5, -1.0, -0.25, 0.0, 0.3, 1.0, 2.75};
  const std::vector<double> pos = {0.01, 0.5, 1.0, 3.0, 40.0};
  check_unary<T>(UnaryOp::copy, {}, xs, [](double x) { return x; });
  check_unary<T>(UnaryOp::neg, {}, xs, [](double x) { return -x; });
  check_unary<T>(UnaryOp::exp, {}, xs, [](double x) { return std::exp(x); });
  check_unary<T>(UnaryOp::log, {}, pos, [](double x) { return std::log(x); });
  check_unary<T>(UnaryOp::sqrt, {}, pos, [](double x) { return std::sqrt(x); });
  check_unary<T>(UnaryOp::abs, {}, xs, [](double x) { return std::fabs(x); });
  check_unary<T>(UnaryOp::relu, {}, xs, [](double x) { return x > 0 ? x : 0; });
  check_unary<T>(UnaryOp::sigmoid, {}, xs, [](double x) { return 1 / (1 + std::exp(-x)); });
  check_unary<T>(UnaryOp::tanh, {}, xs, [](double x) { return std::tanh(x); });
  check_unary<T>(UnaryOp::gelu, {}, xs,
                 [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); });
  check_unary<T>(UnaryOp::pow_scalar, {1.5, 0}, pos, [](double x) { return std::pow(x, 1.5); });
  check_unary<T>(UnaryOp::pow_scalar, {2, 0}, xs, [](double x) { return x * x; });
  check_unary<T>(UnaryOp::clamp, {-1, 1}, xs,
                 [](double x) { return std::min(std::max(x, -1.0), 1.0); });
  check_unary<T>(UnaryOp::leaky_relu, {0.125, 0}, xs,
                 [](double x) { return x > 0 ? x : 0.125 * x; });
}

// Runs a binary op on (gs, xs) and checks each result against f(g, x) computed in double.
template <class T>
void check_binary(BinaryOp op, ElementwiseParams p, const std::vector<double>& gs,
                  const std::vector<double>& xs, const std::function<double(double, double)>& f) {
  std::vector<T> a(gs.begin(), gs.end()), b(xs.begin(), xs.end()), out(xs.size());
  ref::binary(op, p, flat(static_cast<int64_t>(xs.size())), a.data(), b.data(), out.data());
  for (size_t e = 0; e < xs.size(); ++e) {
    const double want = f(static_cast<double>(a[e]), static_cast<double>(b[e]));
    EXPECT_NEAR(out[e], want, tol<T>() * (1 + std::abs(want)))
        << "op " << static_cast<int>(op) << " at " << e;
  }
}

TYPED_TEST(RefTyped, EveryBinaryOpMatchesItsFormula) {
  using T = TypeParam;
  const std::vector<double> g = {0.5, -2.0, 1.5, 3.0, -0.75, 2.0, 1.0};
  const std::vector<double> x = {-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5};
  const std::vector<double> y = {0.1, 0.25, 0.5, 0.9, -0.3, 0.75, 0.99};  // forward outputs
  check_binary<T>(BinaryOp::add, {}, g, x, [](double p, double q) { return p + q; });
  check_binary<T>(BinaryOp::sub, {}, g, x, [](double p, double q) { return p - q; });
  check_binary<T>(BinaryOp::mul, {}, g, x, [](double p, double q) { return p * q; });
  check_binary<T>(BinaryOp::div, {}, g, y, [](double p, double q) { return p / q; });
  check_binary<T>(BinaryOp::relu_backward, {}, g, x,
                  [](double d, double v) { return v > 0 ? d : 0; });
  check_binary<T>(BinaryOp::leaky_relu_backward, {0.2, 0}, g, x,
                  [](double d, double v) { return v > 0 ? d : 0.2 * d; });
  // Bounds inclusive: x = -1 and x = 0.5 pass the gradient.
  check_binary<T>(BinaryOp::clamp_backward, {-1, 0.5}, g, x,
                  [](double d, double v) { return v >= -1 && v <= 0.5 ? d : 0; });
  check_binary<T>(BinaryOp::abs_backward, {}, g, x,
                  [](double d, double v) { return v > 0 ? d : (v < 0 ? -d : 0); });
  check_binary<T>(BinaryOp::sigmoid_backward, {}, g, y,
                  [](double d, double s) { return d * s * (1 - s); });
  check_binary<T>(BinaryOp::tanh_backward, {}, g, y,
                  [](double d, double t) { return d * (1 - t * t); });
}

TEST(RefElementwise, BackwardCodesMatchFiniteDifferences) {
  const std::vector<double> g = {0.5, -2.0, 1.5, 3.0, -0.75, 2.0};
  const std::vector<double> x = {-3.0, -1.1, -0.4, 0.2, 0.9, 2.5};
  const size_t n = x.size();
  std::vector<double> fwd(n), out(n);
  const auto gelu = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  const auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  const auto th = [](double v) { return std::tanh(v); };
  // gelu_backward takes the forward input.
  ref::binary(BinaryOp::gelu_backward, {}, flat(n), g.data(), x.data(), out.data());
  for (size_t e = 0; e < n; ++e) EXPECT_NEAR(out[e], g[e] * central_diff(gelu, x[e]), 1e-8);
  // sigmoid and tanh backward take the forward output.
  ref::unary(UnaryOp::sigmoid, {}, flat(n), x.data(), fwd.data());
  ref::binary(BinaryOp::sigmoid_backward, {}, flat(n), g.data(), fwd.data(), out.data());
  for (size_t e = 0; e < n; ++e) EXPECT_NEAR(out[e], g[e] * central_diff(sig, x[e]), 1e-8);
  ref::unary(UnaryOp::tanh, {}, flat(n), x.data(), fwd.data());
  ref::binary(BinaryOp::tanh_backward, {}, flat(n), g.data(), fwd.data(), out.data());
  for (size_t e = 0; e < n; ++e) EXPECT_NEAR(out[e], g[e] * central_diff(th, x[e]), 1e-8);
}

// Element (i, j) of op(M) for a matrix stored row-major with row stride ld.
template <class T>
double op_at(const std::vector<T>& mat, int64_t off, bool trans, int64_t ld, int64_t i, int64_t j) {
  return static_cast<double>(trans ? mat[off + j * ld + i] : mat[off + i * ld + j]);
}

// Runs one padded, batched gemm case in T and compares it with a naive triple loop; the
// padding of C must stay untouched.
template <class T>
void check_gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  GemmDesc d;
  d.m = m, d.n = n, d.k = k, d.trans_a = ta, d.trans_b = tb;
  d.lda = (ta ? m : k) + 3;
  d.ldb = (tb ? k : n) + 2;
  d.ldc = n + 1;
  d.alpha = 0.75, d.beta = -0.5, d.batch = 3;
  d.stride_a = (ta ? k : m) * d.lda + 5;
  d.stride_b = (tb ? n : k) * d.ldb + 1;
  d.stride_c = m * d.ldc + 4;
  const auto to_t = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  const std::vector<T> a = to_t(uniform(d.batch * d.stride_a, -1, 1, 1));
  const std::vector<T> b = to_t(uniform(d.batch * d.stride_b, -1, 1, 2));
  const std::vector<T> c0 = to_t(uniform(d.batch * d.stride_c, -1, 1, 3));
  std::vector<T> c = c0;
  ref::gemm(d, a.data(), b.data(), c.data());
  std::vector<double> want(c0.begin(), c0.end());
  for (int64_t p = 0; p < d.batch; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t l = 0; l < k; ++l)
          s +=
              op_at(a, p * d.stride_a, ta, d.lda, i, l) * op_at(b, p * d.stride_b, tb, d.ldb, l, j);
        double& w = want[p * d.stride_c + i * d.ldc + j];
        w = d.alpha * s + d.beta * w;
      }
  for (size_t e = 0; e < c.size(); ++e)
    ASSERT_NEAR(c[e], want[e], tol<T>() * (1 + static_cast<double>(k)))
        << "m " << m << " n " << n << " k " << k << " ta " << ta << " tb " << tb << " at " << e;
}

TYPED_TEST(RefTyped, GemmAllTransposesOddSizesBatched) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t m : {1, 7, 33})
        for (int64_t n : {1, 7, 33})
          for (int64_t k : {1, 7, 33}) check_gemm<TypeParam>(m, n, k, ta, tb);
}

TEST(RefGemm, HandCheckedAndBetaZeroIgnoresNaN) {
  // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50].
  const std::vector<double> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
  std::vector<double> c(4, kNaN);
  GemmDesc d;
  d.m = d.n = d.k = 2;
  d.lda = d.ldb = d.ldc = 2;
  ref::gemm(d, a.data(), b.data(), c.data());
  EXPECT_EQ(c, (std::vector<double>{19, 22, 43, 50}));
  // Broadcast B over the batch (stride_b = 0), float, NaN in C with beta = 0.
  const std::vector<float> af = {1, 2, 3, 4, 2, 0, 0, 2}, bf = {5, 6, 7, 8};
  std::vector<float> cf(8, std::numeric_limits<float>::quiet_NaN());
  d.batch = 2, d.stride_a = 4, d.stride_b = 0, d.stride_c = 4;
  ref::gemm(d, af.data(), bf.data(), cf.data());
  EXPECT_EQ(cf, (std::vector<float>{19, 22, 43, 50, 10, 12, 14, 16}));
  // k == 0 leaves beta * C.
  d.k = 0, d.beta = 2, d.batch = 1;
  std::vector<double> c2 = {1, 2, 3, 4};
  ref::gemm(d, a.data(), b.data(), c2.data());
  EXPECT_EQ(c2, (std::vector<double>{2, 4, 6, 8}));
}

// A ReduceDesc from kept dims (shape, in stride, out stride) and reduced dims (shape, in
// stride).
ReduceDesc reduce_desc(std::vector<int64_t> ks, std::vector<int64_t> kin, std::vector<int64_t> kout,
                       std::vector<int64_t> rs, std::vector<int64_t> rin) {
  ReduceDesc d;
  d.nkeep = static_cast<int>(ks.size());
  for (int i = 0; i < d.nkeep; ++i) {
    d.keep_shape[i] = ks[i];
    d.keep_in_stride[i] = kin[i];
    d.keep_out_stride[i] = kout[i];
  }
  d.nred = static_cast<int>(rs.size());
  for (int i = 0; i < d.nred; ++i) {
    d.red_shape[i] = rs[i];
    d.red_in_stride[i] = rin[i];
  }
  return d;
}

TEST(RefReduce, SumOverMiddleDim) {
  // x (2,3,4) contiguous, x[i,j,k] = 100 i + 10 j + k; sum over j = 300 i + 30 + 3 k.
  std::vector<double> x(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) x[i * 12 + j * 4 + k] = 100 * i + 10 * j + k;
  std::vector<double> out(8);
  const ReduceDesc d = reduce_desc({2, 4}, {12, 1}, {4, 1}, {3}, {4});
  ref::reduce(ReduceOp::sum, d, x.data(), out.data(), nullptr);
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) EXPECT_EQ(out[i * 4 + k], 300 * i + 30 + 3 * k);
}

TEST(RefReduce, SumAccumulatesInDouble) {
  // In float, 1e8 + 1 rounds back to 1e8; a double accumulator keeps the 1.
  const std::vector<float> x = {1e8f, 1.f, -1e8f};
  float out = 0;
  ref::reduce(ReduceOp::sum, reduce_desc({}, {}, {}, {3}, {1}), x.data(), &out, nullptr);
  EXPECT_EQ(out, 1.f);
}

// Logical (2,3,4,5) tensor stored as a contiguous (4,2,5,3) buffer: strides (15,1,30,3).
struct Permuted {
  std::vector<double> buf = std::vector<double>(120);
  static int64_t off(int64_t a, int64_t b, int64_t c, int64_t e) {
    return a * 15 + b * 1 + c * 30 + e * 3;
  }
  // Reduces dims 1 and 3 (non-adjacent); the (2,4) output is contiguous.
  static ReduceDesc desc() { return reduce_desc({2, 4}, {15, 30}, {4, 1}, {3, 5}, {1, 3}); }
};

TEST(RefReduce, SumMaxMinOverNonAdjacentDimsOfPermutedLayout) {
  Permuted t;
  // Small integers with many ties, so "first extremum" matters.
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c)
        for (int e = 0; e < 5; ++e)
          t.buf[Permuted::off(a, b, c, e)] = (a * 7 + b * 3 + c + e * 5) % 6;
  std::vector<double> sum(8), mx(8), mn(8);
  std::vector<int64_t> amx(8), amn(8);
  ref::reduce(ReduceOp::sum, Permuted::desc(), t.buf.data(), sum.data(), nullptr);
  ref::reduce(ReduceOp::max, Permuted::desc(), t.buf.data(), mx.data(), amx.data());
  ref::reduce(ReduceOp::min, Permuted::desc(), t.buf.data(), mn.data(), amn.data());
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 4; ++c) {
      double s = 0, hi = -1e9, lo = 1e9;
      int64_t ahi = -1, alo = -1;
      for (int b = 0; b < 3; ++b)
        for (int e = 0; e < 5; ++e) {
          const double v = t.buf[Permuted::off(a, b, c, e)];
          s += v;
          if (v > hi) hi = v, ahi = b * 5 + e;
          if (v < lo) lo = v, alo = b * 5 + e;
        }
      EXPECT_EQ(sum[a * 4 + c], s);
      EXPECT_EQ(mx[a * 4 + c], hi);
      EXPECT_EQ(amx[a * 4 + c], ahi);
      EXPECT_EQ(mn[a * 4 + c], lo);
      EXPECT_EQ(amn[a * 4 + c], alo);
    }
  // Max's backward sends each gradient to its arg position.
  std::vector<double> g(8), gin(120, 0.0);
  for (int e = 0; e < 8; ++e) g[e] = e + 1;
  ref::scatter_to_arg(Permuted::desc(), g.data(), amx.data(), gin.data());
  double total = 0;
  for (double v : gin) total += v;
  EXPECT_EQ(total, 36);
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 4; ++c) {
      const int64_t r = amx[a * 4 + c];
      EXPECT_EQ(gin[Permuted::off(a, r / 5, c, r % 5)], a * 4 + c + 1);
    }
}

TEST(RefReduce, MaxHandCheckedAndNaNPropagates) {
  // Row max with ties: first occurrence wins.
  const std::vector<double> x = {1, 5, 5, 2, -3, -1, -3, -2};
  std::vector<double> out(2);
  std::vector<int64_t> arg(2);
  const ReduceDesc rows = reduce_desc({2}, {4}, {1}, {4}, {1});
  ref::reduce(ReduceOp::max, rows, x.data(), out.data(), arg.data());
  EXPECT_EQ(out, (std::vector<double>{5, -1}));
  EXPECT_EQ(arg, (std::vector<int64_t>{1, 1}));
  ref::reduce(ReduceOp::min, rows, x.data(), out.data(), arg.data());
  EXPECT_EQ(out, (std::vector<double>{1, -3}));
  EXPECT_EQ(arg, (std::vector<int64_t>{0, 0}));
  // NaN wins for both max and min, and arg names the first NaN.
  const std::vector<float> y = {1, 9, NAN, 4, NAN, 0};
  std::vector<float> o(1);
  std::vector<int64_t> ai(1);
  const ReduceDesc all = reduce_desc({}, {}, {}, {2, 3}, {3, 1});
  for (ReduceOp op : {ReduceOp::max, ReduceOp::min}) {
    ref::reduce(op, all, y.data(), o.data(), ai.data());
    EXPECT_TRUE(std::isnan(o[0]));
    EXPECT_EQ(ai[0], 2);
  }
  // NaN first: stays NaN even though later elements compare.
  const std::vector<double> z = {NAN, 3, 7};
  ref::reduce(ReduceOp::max, reduce_desc({}, {}, {}, {3}, {1}), z.data(), out.data(), arg.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(arg[0], 0);
  ref::reduce(ReduceOp::sum, reduce_desc({}, {}, {}, {3}, {1}), z.data(), out.data(), nullptr);
  EXPECT_TRUE(std::isnan(out[0]));
}

TYPED_TEST(RefTyped, SoftmaxRowsSumToOneAndLogMatches) {
  using T = TypeParam;
  const SoftmaxDesc d{2, 5, 3};
  std::vector<double> xv = uniform(30, -4, 4, 7);
  xv[0] = 1000;  // large logits must not overflow
  xv[3] = 999;
  const std::vector<T> x(xv.begin(), xv.end());
  std::vector<T> y(30), ly(30);
  ref::softmax_forward(d, x.data(), y.data(), false);
  ref::softmax_forward(d, x.data(), ly.data(), true);
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 3; ++i) {
      double s = 0;
      for (int j = 0; j < 5; ++j) s += y[(o * 5 + j) * 3 + i];
      EXPECT_NEAR(s, 1.0, 10 * tol<T>());
    }
  EXPECT_NEAR(y[0], 1 / (1 + std::exp(-1.0)), 10 * tol<T>());  // the 1000 vs 999 row
  // log_softmax stays finite where softmax underflows to 0 (the 1000 row); elsewhere it is
  // the log of softmax.
  EXPECT_NEAR(ly[0], -std::log1p(std::exp(-1.0)), 10 * tol<T>());
  for (int e = 0; e < 30; ++e) {
    ASSERT_TRUE(std::isfinite(static_cast<double>(ly[e])));
    if (y[e] < T(1e-20)) continue;
    EXPECT_NEAR(ly[e], std::log(static_cast<double>(y[e])), 10 * tol<T>() * (1 + std::abs(ly[e])));
  }
}

TEST(RefSoftmax, BackwardMatchesFiniteDifferences) {
  const SoftmaxDesc d{2, 4, 3};
  const std::vector<double> x = uniform(24, -2, 2, 11), w = uniform(24, -1, 1, 12);
  for (bool log : {false, true}) {
    // L(x) = sum(w * y(x)), so dL/dy = w.
    const auto loss = [&](const std::vector<double>& xs) {
      std::vector<double> ys(24);
      ref::softmax_forward(d, xs.data(), ys.data(), log);
      double s = 0;
      for (int e = 0; e < 24; ++e) s += w[e] * ys[e];
      return s;
    };
    std::vector<double> y(24), dx(24);
    ref::softmax_forward(d, x.data(), y.data(), log);
    ref::softmax_backward(d, y.data(), w.data(), dx.data(), log);
    for (int e = 0; e < 24; ++e) {
      const double h = 1e-6;
      std::vector<double> xp = x, xm = x;
      xp[e] += h;
      xm[e] -= h;
      EXPECT_NEAR(dx[e], (loss(xp) - loss(xm)) / (2 * h), 1e-8) << "log " << log << " at " << e;
    }
  }
}

TEST(RefNll, WeightsAndIgnoreIndexForwardBackward) {
  // n = 2, c = 3, inner = 2: logp[s, t, j] = -(10 s + 3 t + j + 1) / 10.
  const NllDesc d{2, 3, 2, -1};
  std::vector<double> logp(12);
  for (int s = 0; s < 2; ++s)
    for (int t = 0; t < 3; ++t)
      for (int j = 0; j < 2; ++j) logp[(s * 3 + t) * 2 + j] = -(10.0 * s + 3 * t + j + 1) / 10;
  const std::vector<int64_t> target = {2, -1, 0, 1};  // (n, inner)
  const std::vector<double> weight = {0.5, 2.0, 3.0};
  std::vector<double> loss(4), wsum(4);
  ref::nll_forward(d, logp.data(), target.data(), weight.data(), loss.data(), wsum.data());
  EXPECT_NEAR(loss[0], 3.0 * 0.7, 1e-15);  // s 0, j 0, t 2: -3 * -(7/10)
  EXPECT_EQ(loss[1], 0.0);                 // ignored
  EXPECT_NEAR(loss[2], 0.5 * 1.1, 1e-15);  // s 1, j 0, t 0: -(11/10)
  EXPECT_NEAR(loss[3], 2.0 * 1.5, 1e-15);  // s 1, j 1, t 1: -(15/10)
  EXPECT_EQ(wsum, (std::vector<double>{3.0, 0.0, 0.5, 2.0}));
  ref::nll_forward(d, logp.data(), target.data(), static_cast<const double*>(nullptr), loss.data(),
                   wsum.data());
  EXPECT_NEAR(loss[3], 1.5, 1e-15);
  EXPECT_EQ(wsum, (std::vector<double>{1, 0, 1, 1}));

  const std::vector<double> dloss = {1, 2, 3, 4};
  std::vector<double> dlogp(12, 99.0);
  ref::nll_backward(d, target.data(), weight.data(), dloss.data(), dlogp.data());
  std::vector<double> want(12, 0.0);
  want[(0 * 3 + 2) * 2 + 0] = -3.0 * 1;
  want[(1 * 3 + 0) * 2 + 0] = -0.5 * 3;
  want[(1 * 3 + 1) * 2 + 1] = -2.0 * 4;
  EXPECT_EQ(dlogp, want);
}

TEST(RefIndex, SelectAndAddWithRepeatedIndices) {
  // in (2, 3, 2): in[o, r, i] = 100 o + 10 r + i; select rows {2, 0, 2, 2}.
  const IndexDesc d{2, 3, 4, 2};
  std::vector<double> in(12);
  for (int o = 0; o < 2; ++o)
    for (int r = 0; r < 3; ++r)
      for (int i = 0; i < 2; ++i) in[(o * 3 + r) * 2 + i] = 100 * o + 10 * r + i;
  const std::vector<int64_t> idx = {2, 0, 2, 2};
  std::vector<double> out(16);
  ref::index_select(d, in.data(), idx.data(), out.data());
  for (int o = 0; o < 2; ++o)
    for (int j = 0; j < 4; ++j)
      for (int i = 0; i < 2; ++i) EXPECT_EQ(out[(o * 4 + j) * 2 + i], 100 * o + 10 * idx[j] + i);
  // Backward: row 2 collects three gradients, row 0 one, row 1 keeps its initial value.
  std::vector<double> grad_out(16, 1.0), grad_in(12, 0.5);
  ref::index_add(d, grad_out.data(), idx.data(), grad_in.data());
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(grad_in[(o * 3 + 0) * 2 + i], 1.5);
      EXPECT_EQ(grad_in[(o * 3 + 1) * 2 + i], 0.5);
      EXPECT_EQ(grad_in[(o * 3 + 2) * 2 + i], 3.5);
    }
  // Integer element types (labels, frames).
  const std::vector<uint8_t> u = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> uo(4);
  const std::vector<int64_t> uidx = {1, 1};
  ref::index_select(IndexDesc{1, 3, 2, 2}, u.data(), uidx.data(), uo.data());
  EXPECT_EQ(uo, (std::vector<uint8_t>{3, 4, 3, 4}));
  const std::vector<int64_t> l = {7, 8, 9};
  std::vector<int64_t> lo(2);
  const std::vector<int64_t> lidx = {2, 0};
  ref::index_select(IndexDesc{1, 3, 2, 1}, l.data(), lidx.data(), lo.data());
  EXPECT_EQ(lo, (std::vector<int64_t>{9, 7}));
}

TEST(RefIndex, GatherAndScatterAddWithRepeatedIndices) {
  // in (1, 3, 2); idx (1, 4, 2) picks a row per output element and column.
  const IndexDesc d{1, 3, 4, 2};
  const std::vector<float> in = {1, 2, 3, 4, 5, 6};
  const std::vector<int64_t> idx = {0, 2, 1, 1, 0, 0, 2, 2};
  std::vector<float> out(8);
  ref::gather(d, in.data(), idx.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{1, 6, 3, 4, 1, 2, 5, 6}));
  const std::vector<float> g = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> gin(6, 0.f);
  ref::scatter_add(d, g.data(), idx.data(), gin.data());
  // Column 0: rows 0 <- 1 + 5, 1 <- 3, 2 <- 7; column 1: rows 0 <- 6, 1 <- 4, 2 <- 2 + 8.
  EXPECT_EQ(gin, (std::vector<float>{6, 6, 3, 4, 7, 10}));
  const std::vector<int64_t> li = {10, 20, 30, 40, 50, 60};
  std::vector<int64_t> lo(8);
  ref::gather(d, li.data(), idx.data(), lo.data());
  EXPECT_EQ(lo, (std::vector<int64_t>{10, 60, 30, 40, 10, 20, 50, 60}));
  const std::vector<uint8_t> ui = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> uo(8);
  ref::gather(d, ui.data(), idx.data(), uo.data());
  EXPECT_EQ(uo, (std::vector<uint8_t>{1, 6, 3, 4, 1, 2, 5, 6}));
}

}  // namespace
