// Fast CPU pooling (kernels/cpu/pool.h) against the reference kernels on odd 2-D and 3-D
// shapes: stride != kernel, padding, dilation, ceil-mode output sizes, ties and NaNs for max
// (values and indices bit for bit), average with and without count_include_pad, global average
// pooling; results independent of the thread count; the ops list v2 first.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops/pool.h"
#include "kernels/common/pool_desc.h"
#include "kernels/cpu/pool.h"
#include "kernels/reference/pool.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using kernels::PoolDesc;

// One pooling case: spatial sizes and window parameters per dim (slot 0 = depth), ceil mode.
struct Case {
  int dims;
  int64_t planes, in[3], kernel[3], stride[3], pad[3], dilation[3];
  bool ceil_mode;
};

// The descriptor of c with PyTorch's output sizes (pooling_output_shape).
PoolDesc desc_of(const Case& c, bool count_include_pad) {
  PoolDesc d;
  d.dims = c.dims;
  d.planes = c.planes;
  d.count_include_pad = count_include_pad;
  for (int i = 0; i < 3; ++i) {
    d.in[i] = c.in[i];
    d.kernel[i] = c.kernel[i];
    d.stride[i] = c.stride[i];
    d.pad[i] = c.pad[i];
    d.dilation[i] = c.dilation[i];
    const int64_t span = c.dilation[i] * (c.kernel[i] - 1) + 1;
    const int64_t room = c.in[i] + 2 * c.pad[i] - span + (c.ceil_mode ? c.stride[i] - 1 : 0);
    d.out[i] = room / c.stride[i] + 1;
    if (c.ceil_mode && (d.out[i] - 1) * c.stride[i] >= c.in[i] + c.pad[i]) --d.out[i];
  }
  return d;
}

// 2-D cases (depth 1; the first two take the 2x2 stride-2 path, 4 and 19 outputs a row) and
// 3-D cases (the first, kernel (1, 2, 2), takes the 2x2 path too).
std::vector<Case> cases() {
  return {
      {2, 3, {1, 7, 9}, {1, 2, 2}, {1, 2, 2}, {0, 0, 0}, {1, 1, 1}, false},
      {2, 2, {1, 6, 38}, {1, 2, 2}, {1, 2, 2}, {0, 0, 0}, {1, 1, 1}, false},
      {2, 2, {1, 7, 9}, {1, 2, 2}, {1, 2, 2}, {0, 0, 0}, {1, 1, 1}, true},
      {2, 5, {1, 11, 13}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}, true},
      {2, 3, {1, 10, 17}, {1, 3, 2}, {1, 1, 3}, {0, 1, 1}, {1, 1, 1}, false},
      {2, 2, {1, 9, 12}, {1, 3, 3}, {1, 2, 1}, {0, 1, 0}, {1, 2, 2}, false},
      {2, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, false},
      {3, 2, {3, 6, 20}, {1, 2, 2}, {1, 2, 2}, {0, 0, 0}, {1, 1, 1}, false},
      {3, 3, {5, 6, 7}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, true},
      {3, 2, {4, 7, 9}, {3, 3, 2}, {1, 2, 2}, {1, 1, 1}, {1, 1, 1}, false},
      {3, 2, {5, 8, 6}, {2, 3, 3}, {2, 1, 2}, {1, 1, 1}, {2, 1, 1}, true},
  };
}

// A readable name of c.
std::string name_of(const Case& c) {
  std::string s = std::to_string(c.dims) + "d in";
  for (int i = 0; i < 3; ++i) s += " " + std::to_string(c.in[i]);
  s += " k" + std::to_string(c.kernel[1]) + std::to_string(c.kernel[2]);
  s += " s" + std::to_string(c.stride[1]) + std::to_string(c.stride[2]);
  s += " p" + std::to_string(c.pad[1]) + std::to_string(c.pad[2]);
  s += " dil" + std::to_string(c.dilation[1]) + std::to_string(c.dilation[2]);
  return s + (c.ceil_mode ? " ceil" : "");
}

// Inputs of n elements in a few levels (ties) with a NaN and -inf in a few places.
template <class T>
std::vector<T> inputs(int64_t n, unsigned seed) {
  std::vector<float> u = testing::uniform_floats(static_cast<size_t>(n), seed);
  std::vector<T> x(u.size());
  for (size_t i = 0; i < u.size(); ++i) x[i] = static_cast<T>(std::round(u[i] * 4.0f) / 4.0f);
  if (n > 10) x[10] = std::numeric_limits<T>::quiet_NaN();
  if (n > 30) x[30] = -std::numeric_limits<T>::infinity();
  return x;
}

int64_t in_size(const PoolDesc& d) {
  return d.planes * d.in[0] * d.in[1] * d.in[2];
}
int64_t out_size(const PoolDesc& d) {
  return d.planes * d.out[0] * d.out[1] * d.out[2];
}

// Expects a and b equal in bits.
template <class T>
void expect_same_bits(const std::vector<T>& a, const std::vector<T>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(T))) << what;
}

// Expects every element of got within tol * (1 + |want|) of want (NaN where want is NaN).
template <class T>
void expect_near_all(const std::vector<T>& got, const std::vector<T>& want, double tol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << what << " element " << i;
      continue;
    }
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << what << " element " << i;
  }
}

// Max pooling forward and backward of v2 against the reference, bit for bit.
template <class T>
void expect_max_matches(const PoolDesc& d, int threads) {
  const std::vector<T> x = inputs<T>(in_size(d), 3);
  std::vector<T> y(out_size(d)), ry(out_size(d));
  std::vector<int64_t> idx(out_size(d)), ridx(out_size(d));
  cpu::max_pool_forward_v2<T>(d, x.data(), y.data(), idx.data(), threads);
  ref::max_pool_forward<T>(d, x.data(), ry.data(), ridx.data());
  expect_same_bits(y, ry, "max y");
  expect_same_bits(idx, ridx, "max idx");
  const std::vector<T> dy = inputs<T>(out_size(d), 4);
  std::vector<T> dx(in_size(d), T(9)), rdx(in_size(d));
  cpu::max_pool_backward_v2<T>(d, dy.data(), ridx.data(), dx.data(), threads);
  ref::max_pool_backward<T>(d, dy.data(), ridx.data(), rdx.data());
  expect_same_bits(dx, rdx, "max dx");
}

// Average pooling forward and backward of v2 against the reference (finite inputs).
template <class T>
void expect_avg_matches(const PoolDesc& d, int threads, double tol) {
  std::vector<T> x = inputs<T>(in_size(d), 5);
  for (T& v : x)
    if (!std::isfinite(v)) v = T(0.5);
  std::vector<T> y(out_size(d)), ry(out_size(d));
  cpu::avg_pool_forward_v2<T>(d, x.data(), y.data(), threads);
  ref::avg_pool_forward<T>(d, x.data(), ry.data());
  expect_near_all(y, ry, tol, "avg y");
  std::vector<T> dy = inputs<T>(out_size(d), 6);
  for (T& v : dy)
    if (!std::isfinite(v)) v = T(-0.25);
  std::vector<T> dx(in_size(d), T(9)), rdx(in_size(d));
  cpu::avg_pool_backward_v2<T>(d, dy.data(), dx.data(), threads);
  ref::avg_pool_backward<T>(d, dy.data(), rdx.data());
  expect_near_all(dx, rdx, tol, "avg dx");
}

TEST(CpuPool, MaxMatchesReferenceBitForBit) {
  for (const Case& c : cases())
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(name_of(c) + " threads " + std::to_string(threads));
      expect_max_matches<float>(desc_of(c, true), threads);
      expect_max_matches<double>(desc_of(c, true), threads);
    }
}

TEST(CpuPool, AverageMatchesReference) {
  for (const Case& c : cases()) {
    if (c.dilation[0] * c.dilation[1] * c.dilation[2] != 1) continue;  // average has none
    for (bool include_pad : {true, false})
      for (int threads : {1, 2}) {
        SCOPED_TRACE(name_of(c) + (include_pad ? " include_pad" : "") + " threads " +
                     std::to_string(threads));
        expect_avg_matches<float>(desc_of(c, include_pad), threads, 1e-6);
        expect_avg_matches<double>(desc_of(c, include_pad), threads, 1e-14);
      }
  }
}

TEST(CpuPool, ResultsDoNotDependOnThreadCount) {
  const PoolDesc d =
      desc_of({2, 7, {1, 13, 11}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}, true}, false);
  const std::vector<float> x = inputs<float>(in_size(d), 7), dy = inputs<float>(out_size(d), 8);
  // The average forward and backward outputs of one run, concatenated.
  auto run = [&](int threads) {
    std::vector<float> y(out_size(d)), dx(in_size(d));
    cpu::avg_pool_forward_v2<float>(d, x.data(), y.data(), threads);
    cpu::avg_pool_backward_v2<float>(d, dy.data(), dx.data(), threads);
    y.insert(y.end(), dx.begin(), dx.end());
    return y;
  };
  const std::vector<float> one = run(1);
  for (int threads : {2, 3, 8}) expect_same_bits(run(threads), one, std::to_string(threads));
}

TEST(CpuPool, GlobalAverageMatchesReference) {
  for (const auto& [dims, in] : std::vector<std::pair<int, std::vector<int64_t>>>{
           {2, {1, 7, 7}}, {2, {1, 1, 1}}, {2, {1, 5, 13}}, {3, {3, 4, 5}}}) {
    PoolDesc d;
    d.dims = dims;
    d.planes = 6;
    for (int i = 0; i < 3; ++i) d.in[i] = in[i];
    ASSERT_TRUE(cpu::is_global_pool(d));
    std::vector<float> x = inputs<float>(in_size(d), 9), y(6), ry(6);
    for (float& v : x)
      if (!std::isfinite(v)) v = 1.5f;
    cpu::global_avg_pool_forward_v2<float>(d, x.data(), y.data(), 2);
    ref::adaptive_avg_pool_forward<float>(d, x.data(), ry.data());
    expect_near_all(y, ry, 1e-6, "global y");
    const std::vector<float> dy = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -0.75f};
    std::vector<float> dx(in_size(d)), rdx(in_size(d));
    cpu::global_avg_pool_backward_v2<float>(d, dy.data(), dx.data(), 2);
    ref::adaptive_avg_pool_backward<float>(d, dy.data(), rdx.data());
    expect_same_bits(dx, rdx, "global dx");
  }
  PoolDesc not_global;
  not_global.out[2] = 2;
  EXPECT_FALSE(cpu::is_global_pool(not_global));
}

TEST(CpuPool, OpsListV2First) {
  Tensor x = testing::random_f64({2, 3, 6, 6}).to(DType::f32);
  max_pool2d(x, {2}, {}, {0}, {1}, false);
  avg_pool2d(x, {2}, {}, {0}, false, true);
  adaptive_avg_pool2d(x, {1});
  int found = 0;
  for (const dispatch::OpBase* op : dispatch::OpBase::all()) {
    const std::string& n = op->name();
    if (n == "max_pool2d" || n == "max_pool2d_backward" || n == "avg_pool2d" ||
        n == "avg_pool2d_backward") {
      ++found;
      EXPECT_EQ(op->impl_names().front(), "v2_rows") << n;
    }
    if (n == "adaptive_avg_pool2d" || n == "adaptive_avg_pool2d_backward") {
      ++found;
      EXPECT_EQ(op->impl_names().front(), "v2_global") << n;
    }
  }
  EXPECT_EQ(found, 6);
}

}  // namespace
}  // namespace signet
