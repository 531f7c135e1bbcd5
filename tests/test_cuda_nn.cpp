// The cuda nn kernels (dropout, pooling, batch norm, the simple convolution) against the cpu on
// odd shapes, through the ops and, for dropout, the kernel directly. Tolerances:
//   dropout        bit for bit (the mask is integer arithmetic, the scale one f32 multiply);
//   pooling        max values and indices bit for bit; window means 1e-6 (f32 sums vs double
//                  sums); backward 1e-6 (the gather sums in the reference's output order, the
//                  fast cpu kernels may round sums of overlapping windows in another order);
//   batch norm     1e-5 absolute on O(1) data (f32 Welford and tree sums vs double sums);
//   convolution    1e-5 * sqrt(terms) absolute on O(1) data (f32 fma chains vs double sums).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/autograd.h"
#include "engine/cuda_device.h"
#include "engine/cuda_kernels_nn.h"
#include "engine/ops.h"
#include "engine/ops/conv.h"
#include "engine/ops/dropout.h"
#include "engine/ops/norm.h"
#include "engine/ops/pool.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/dropout.h"
#include "kernels/reference/dropout.h"
#include "kernels/reference/pool.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_close;
using testing::expect_device_bitwise;
using testing::expect_device_close;
using testing::random_cpu;
using testing::uniform_floats;

// --- dropout ---------------------------------------------------------------------------------

// The kernel on odd sizes, first elements, offsets, seeds, groups and p: bit for bit the
// reference and the fast cpu kernel.
TEST(CudaDropout, KernelMaskEqualsCpuBitForBit) {
  struct Case {
    int64_t n, first, group;
    double p;
    uint64_t seed, offset;
  };
  const Case cases[] = {{1, 0, 1, 0.5, 5, 0},
                        {3, 1, 1, 0.5, 5, 0},
                        {37, 3, 1, 0.3, 123456789012345ull, 9},
                        {1001, 7, 1, 0.5, 0xDEADBEEFCAFEull, (1ull << 62) + (3ull << 32) + 17},
                        {517, 1234567, 1, 0.9, 77, 1ull << 40},
                        {1003, 16, 1, 0.5, 3, 5},  // float4 pairs with a tail
                        {1003, 12, 1, 0.5, 3, 5},  // first % 8 = 4: scalar path
                        {203, 0, 1, 0.0, 1, 2},
                        {203, 5, 1, 1.0, 1, 2},
                        {385, 0, 35, 0.5, 42, 11},  // Dropout2d-like: channels of 5 x 7
                        {299, 13, 23, 0.4, 42, 3},  // a chunk starting inside a channel
                        {211, 2, 211, 0.5, 9, 1}};  // one channel
  for (const Case& c : cases) {
    const std::string what = "n " + std::to_string(c.n) + " first " + std::to_string(c.first) +
                             " group " + std::to_string(c.group) + " p " + std::to_string(c.p);
    kernels::DropoutDesc d;
    d.n = c.n;
    d.first = c.first;
    d.group = c.group;
    d.p = c.p;
    d.seed = c.seed;
    d.offset = c.offset;
    const Tensor x = random_cpu({c.n}, unsigned(c.n)) + 2.0;  // never 0: a kept 0 looks dropped
    Tensor want = empty({c.n});
    ref::dropout_forward<float>(d, x.data<float>(), want.data<float>());
    Tensor fast = empty({c.n});
    cpu::dropout_forward_v2<float>(d, x.data<float>(), fast.data<float>(), 2);
    const Tensor dx = x.cuda();
    Tensor dy = empty({c.n}, DType::f32, Device::cuda(0));
    cuda_dropout_f32(d, dx.raw_data(), dy.raw_data());
    expect_device_bitwise(dy, want, "reference, " + what);
    expect_device_bitwise(dy, fast, "cpu v2, " + what);
  }
}

// A unit whose half-word h has h 2^-16 == p exactly is kept (h >= ceil(p 2^16)), on the
// device as on the cpu. Unit 6 is the low half of word 3 of block 0.
TEST(CudaDropout, UnitExactlyAtPIsKept) {
  kernels::DropoutDesc d;
  d.n = 7;
  d.seed = 5;
  d.offset = 0;
  d.p = double(kernels::philox_word(d.seed, d.offset, 3) & 0xFFFFu) / 65536.0;
  const Tensor x = ones({7});
  Tensor want = empty({7});
  ref::dropout_forward<float>(d, x.data<float>(), want.data<float>());
  ASSERT_NE(want.data<float>()[6], 0.0f) << "the reference keeps h 2^-16 == p";
  const Tensor dx = x.cuda();
  Tensor dy = empty({7}, DType::f32, Device::cuda(0));
  cuda_dropout_f32(d, dx.raw_data(), dy.raw_data());
  expect_device_bitwise(dy, want, "h 2^-16 == p at element 6");
}

// dropout, dropout2d and dropout3d ops with the same stream state: same outputs and gradients,
// bit for bit, and the same counters taken.
TEST(CudaDropout, OpsMatchCpuForwardAndBackward) {
  const Shape shapes[] = {{3, 5, 7}, {2, 3, 5, 7}, {2, 3, 3, 5, 3}};
  for (int form = 0; form < 3; ++form) {
    const Tensor x = random_cpu(shapes[form], 50 + form);
    const Tensor d = x.cuda();
    Tensor xg = x.detach(), dg = d.detach();
    xg.requires_grad_();
    dg.requires_grad_();
    RngStream cpu_stream = dropout_stream(7, 3), cuda_stream = cpu_stream;
    const auto run = [form](const Tensor& t, RngStream& s) {
      return form == 0 ? dropout(t, 0.4, true, s)
                       : (form == 1 ? dropout2d(t, 0.4, true, s) : dropout3d(t, 0.4, true, s));
    };
    const Tensor yc = run(xg, cpu_stream), yd = run(dg, cuda_stream);
    EXPECT_EQ(cpu_stream.offset, cuda_stream.offset);
    expect_device_bitwise(yd, yc, "forward, form " + std::to_string(form));
    const Tensor w = random_cpu(shapes[form], 60 + form);
    sum(mul(yc, w)).backward();
    sum(mul(yd, w.cuda())).backward();
    expect_device_bitwise(dg.grad(), xg.grad(), "backward, form " + std::to_string(form));
  }
}

// --- pooling ---------------------------------------------------------------------------------

// Runs f on x (cpu) and on x.cuda() with dy = w, and compares outputs (bitwise when tol is 0)
// and input gradients (within 1e-6).
template <class F>
void compare_pool(const Tensor& x, F f, double tol, const std::string& what) {
  Tensor xc = x.detach(), xd = x.cuda();
  xc.requires_grad_();
  xd.requires_grad_();
  const Tensor yc = f(xc), yd = f(xd);
  if (tol == 0)
    expect_device_bitwise(yd, yc.detach(), what + " forward");
  else
    expect_device_close(yd, yc.detach(), tol, what + " forward");
  const Tensor w = random_cpu(yc.shape(), 99);
  sum(mul(yc, w)).backward();
  sum(mul(yd, w.cuda())).backward();
  expect_device_close(xd.grad(), xc.grad(), 1e-6, what + " backward");
}

TEST(CudaPool, MaxPoolValuesIndicesAndBackwardMatchCpu) {
  // Overlapping windows (stride < kernel), padding, dilation and ceil_mode on odd sizes.
  Tensor x2 = random_cpu({2, 3, 9, 11}, 1);
  x2.data<float>()[17] = std::numeric_limits<float>::quiet_NaN();  // a NaN wins its windows
  const auto mp2 = [](const Tensor& t) { return max_pool2d(t, {3, 2}, {2, 1}, {1, 1}, {1}, true); };
  const auto mp2d = [](const Tensor& t) { return max_pool2d(t, {3}, {1}, {1}, {2}, false); };
  const Tensor x3 = random_cpu({1, 2, 5, 7, 6}, 2);
  const auto mp3 = [](const Tensor& t) {
    return max_pool3d(t, {2, 3, 3}, {1, 2, 2}, {1}, {1}, true);
  };
  compare_pool(random_cpu({2, 3, 9, 11}, 3), mp2, 0.0, "max_pool2d k(3,2) s(2,1) p1 ceil");
  compare_pool(x3, mp3, 0.0, "max_pool3d k(2,3,3) s(1,2,2) p1 ceil");
  compare_pool(random_cpu({1, 2, 8, 7}, 4), mp2d, 0.0, "max_pool2d k3 s1 p1 dilation 2");
  const auto [yc, ic] = max_pool2d_with_indices(x2, {3, 2}, {2, 1}, {1, 1}, {1}, true);
  const auto [yd, id] = max_pool2d_with_indices(x2.cuda(), {3, 2}, {2, 1}, {1, 1}, {1}, true);
  EXPECT_EQ(id.cpu().to_vector<int64_t>(), ic.to_vector<int64_t>()) << "indices with a NaN";
  const auto [y3c, i3c] = max_pool3d_with_indices(x3, {2, 3, 3}, {1, 2, 2}, {1}, {1}, true);
  const auto [y3d, i3d] = max_pool3d_with_indices(x3.cuda(), {2, 3, 3}, {1, 2, 2}, {1}, {1}, true);
  EXPECT_EQ(i3d.cpu().to_vector<int64_t>(), i3c.to_vector<int64_t>()) << "3-d indices";
}

TEST(CudaPool, AvgPoolMatchesCpu) {
  for (bool include_pad : {true, false}) {
    const std::string pad = include_pad ? " count_include_pad" : " excluding pad";
    compare_pool(
        random_cpu({2, 3, 9, 11}, 5),
        [include_pad](const Tensor& t) {
          return avg_pool2d(t, {3, 4}, {2, 1}, {1, 2}, true, include_pad);
        },
        1e-6, "avg_pool2d k(3,4) s(2,1) p(1,2) ceil" + pad);
    compare_pool(
        random_cpu({1, 2, 5, 7, 6}, 6),
        [include_pad](const Tensor& t) {
          return avg_pool3d(t, {3, 2, 3}, {2, 1, 2}, {1, 1, 0}, false, include_pad);
        },
        1e-6, "avg_pool3d k(3,2,3) s(2,1,2) p(1,1,0)" + pad);
  }
}

TEST(CudaPool, AdaptiveAndGlobalAvgPoolMatchCpu) {
  const auto a2 = [](const Tensor& t) { return adaptive_avg_pool2d(t, {3, 4}); };
  const auto g2 = [](const Tensor& t) { return adaptive_avg_pool2d(t, {1}); };
  const auto a3 = [](const Tensor& t) { return adaptive_avg_pool3d(t, {2, 3, 4}); };
  const auto g3 = [](const Tensor& t) { return adaptive_avg_pool3d(t, {1}); };
  compare_pool(random_cpu({2, 3, 7, 5}, 7), a2, 1e-6, "adaptive_avg_pool2d 7x5 -> 3x4");
  compare_pool(random_cpu({2, 3, 23, 29}, 8), g2, 1e-6, "global avg pool 2d 23x29");
  compare_pool(random_cpu({1, 2, 5, 7, 9}, 9), a3, 1e-6, "adaptive_avg_pool3d -> 2x3x4");
  compare_pool(random_cpu({2, 2, 3, 5, 7}, 10), g3, 1e-6, "global avg pool 3d");
}

// The gather backward kernels called directly on a 2-D problem with overlapping, padded windows:
// bit for bit the reference kernels (same terms, summed in the same output order).
TEST(CudaPool, GatherBackwardEqualsReferenceBitForBit) {
  kernels::PoolDesc d;
  d.planes = 3;
  d.in[1] = 9, d.in[2] = 11;
  d.kernel[1] = 3, d.kernel[2] = 4;
  d.stride[1] = 2;
  d.pad[1] = 1, d.pad[2] = 2;
  d.out[1] = (9 + 2 - 3) / 2 + 1, d.out[2] = (11 + 4 - 4) + 1;
  const Shape in_shape{3, 9, 11}, out_shape{3, d.out[1], d.out[2]};
  const Tensor x = random_cpu(in_shape, 71), dy = random_cpu(out_shape, 72);
  Tensor y = empty(out_shape), idx = empty(out_shape, DType::i64), want = empty(in_shape);
  ref::max_pool_forward<float>(d, x.data<float>(), y.data<float>(), idx.data<int64_t>());
  ref::max_pool_backward<float>(d, dy.data<float>(), idx.data<int64_t>(), want.data<float>());
  const Tensor ddy = dy.cuda(), didx = idx.cuda();
  Tensor got = empty(in_shape, DType::f32, Device::cuda(0));
  cuda_max_pool_backward_f32(d, ddy.raw_data(), static_cast<const int64_t*>(didx.raw_data()),
                             got.raw_data());
  expect_device_bitwise(got, want, "max pool backward");
  for (bool include_pad : {true, false}) {
    d.count_include_pad = include_pad;
    ref::avg_pool_backward<float>(d, dy.data<float>(), want.data<float>());
    cuda_avg_pool_backward_f32(d, ddy.raw_data(), got.raw_data());
    expect_device_bitwise(got, want, include_pad ? "avg backward" : "avg backward excluding pad");
  }
  d.out[1] = 4, d.out[2] = 3;  // adaptive 9 x 11 -> 4 x 3: overlapping windows
  const Tensor ady = random_cpu({3, 4, 3}, 73);
  ref::adaptive_avg_pool_backward<float>(d, ady.data<float>(), want.data<float>());
  cuda_adaptive_avg_pool_backward_f32(d, ady.cuda().raw_data(), got.raw_data());
  expect_device_bitwise(got, want, "adaptive avg backward");
}

// --- batch norm ------------------------------------------------------------------------------

constexpr double kNormTol = 1e-5;

// Makes SIGNET_IMPL_batch_norm_train and SIGNET_IMPL_batch_norm_backward name version ("" unsets).
void force_batch_norm(const std::string& version) {
  for (const char* var : {"SIGNET_IMPL_batch_norm_train", "SIGNET_IMPL_batch_norm_backward"}) {
    if (version.empty())
      unsetenv(var);
    else
      setenv(var, version.c_str(), 1);
  }
}

// Training forward, running statistics and the backward of x, weight and bias on x's shape; the
// cuda side runs cuda_version when one is named.
void compare_batch_norm_train(const Shape& shape, bool affine, unsigned seed,
                              const std::string& cuda_version = "") {
  const std::string what =
      "batch norm " + shape_str(shape) + (affine ? " affine " : " ") + cuda_version;
  const int64_t c = shape[1];
  const Tensor x = random_cpu(shape, seed) * 3.0 + 0.5;
  const Tensor w0 = random_cpu({c}, seed + 1) + 1.5, b0 = random_cpu({c}, seed + 2);
  const Tensor g = random_cpu(shape, seed + 3);
  Tensor xc = x.detach(), xd = x.cuda(), wc = w0.detach(), wd = w0.cuda(), bc = b0.detach(),
         bd = b0.cuda();
  for (Tensor* t : {&xc, &xd, &wc, &wd, &bc, &bd}) t->requires_grad_();
  Tensor rmc = zeros({c}), rvc = ones({c});
  Tensor rmd = rmc.cuda(), rvd = rvc.cuda();
  const Tensor yc =
      batch_norm(xc, rmc, rvc, affine ? wc : Tensor(), affine ? bc : Tensor(), true, 0.1, 1e-5);
  sum(mul(yc, g)).backward();
  force_batch_norm(cuda_version);
  const Tensor yd =
      batch_norm(xd, rmd, rvd, affine ? wd : Tensor(), affine ? bd : Tensor(), true, 0.1, 1e-5);
  sum(mul(yd, g.cuda())).backward();
  force_batch_norm("");
  expect_device_close(yd, yc.detach(), kNormTol, what + " y");
  expect_device_close(rmd, rmc, kNormTol, what + " running_mean");
  expect_device_close(rvd, rvc, kNormTol, what + " running_var");
  expect_device_close(xd.grad(), xc.grad(), kNormTol, what + " dx");
  if (!affine) return;
  expect_device_close(wd.grad(), wc.grad(), kNormTol * 10, what + " dweight");  // sums of M terms
  expect_device_close(bd.grad(), bc.grad(), kNormTol * 10, what + " dbias");
}

TEST(CudaBatchNorm, TrainingForwardBackwardMatchCpu) {
  compare_batch_norm_train({7, 5}, true, 11);           // BatchNorm1d on (N, C)
  compare_batch_norm_train({3, 4, 13}, false, 12);      // BatchNorm1d on (N, C, L)
  compare_batch_norm_train({3, 5, 9, 7}, true, 13);     // BatchNorm2d
  compare_batch_norm_train({2, 3, 3, 5, 7}, true, 14);  // BatchNorm3d
  compare_batch_norm_train({2, 3, 700}, true, 15);      // more elements than threads a block
}

// v2_cuda_split: long channels pick it by rule (slices that end inside a row on the row path,
// and the flattened path of (N, C)); forced, it also runs short channels as one slice; v1 forced
// on a long channel for comparison.
TEST(CudaBatchNorm, SplitVersionMatchesCpu) {
  kernels::BatchNormDesc d;
  d.n = 3, d.c = 2, d.inner = 5471;
  EXPECT_EQ(cuda_backend().batch_norm_splits(d), 2);
  d.n = 16390, d.inner = 1;
  EXPECT_EQ(cuda_backend().batch_norm_splits(d), 2);
  d.n = 7, d.inner = 5;
  EXPECT_EQ(cuda_backend().batch_norm_splits(d), 1);
  compare_batch_norm_train({3, 1, 5471}, true, 31);  // 2 slices of 8207: one ends inside row 1
  compare_batch_norm_train({16390, 1}, true, 32);    // 2 slices, flattened (inner 1)
  compare_batch_norm_train({3, 5, 9, 7}, true, 34, "v2_cuda_split");
  compare_batch_norm_train({7, 5}, false, 35, "v2_cuda_split");
}

// v2's slice partials are merged in a fixed order (no atomics): a rerun repeats bit for bit.
TEST(CudaBatchNorm, SplitVersionRepeatsBitForBit) {
  const Tensor x = random_cpu({2, 1, 8300}, 41).cuda(), g = random_cpu({2, 1, 8300}, 42).cuda();
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    Tensor xd = x.detach(), wd = ones({1}).cuda();
    xd.requires_grad_();
    wd.requires_grad_();
    Tensor rm = zeros({1}).cuda(), rv = ones({1}).cuda();
    const Tensor y = batch_norm(xd, rm, rv, wd, Tensor(), true, 0.1, 1e-5);
    sum(mul(y, g)).backward();
    std::vector<float> all = y.cpu().to_vector<float>();
    for (const Tensor& t : {xd.grad(), wd.grad(), rm, rv}) {
      const std::vector<float> v = t.cpu().to_vector<float>();
      all.insert(all.end(), v.begin(), v.end());
    }
    if (run == 0)
      first = all;
    else
      EXPECT_EQ(std::memcmp(all.data(), first.data(), all.size() * sizeof(float)), 0);
  }
}

TEST(CudaBatchNorm, EvalForwardBackwardMatchCpu) {
  const Shape shape{3, 5, 7, 9};
  const Tensor x = random_cpu(shape, 21);
  const Tensor rm = random_cpu({5}, 22), rv = random_cpu({5}, 23) + 1.5;
  const Tensor w0 = random_cpu({5}, 24), b0 = random_cpu({5}, 25);
  Tensor xc = x.detach(), xd = x.cuda(), wc = w0.detach(), wd = w0.cuda();
  for (Tensor* t : {&xc, &xd, &wc, &wd}) t->requires_grad_();
  const Tensor yc = batch_norm(xc, rm, rv, wc, b0, false, 0.1, 1e-3);
  const Tensor yd = batch_norm(xd, rm.cuda(), rv.cuda(), wd, b0.cuda(), false, 0.1, 1e-3);
  expect_device_close(yd, yc.detach(), kNormTol, "eval y");
  const Tensor g = random_cpu(shape, 26);
  sum(mul(yc, g)).backward();
  sum(mul(yd, g.cuda())).backward();
  expect_device_close(xd.grad(), xc.grad(), kNormTol, "eval dx");
  expect_device_close(wd.grad(), wc.grad(), kNormTol * 10, "eval dweight");
}

// --- convolution -----------------------------------------------------------------------------

// Makes SIGNET_IMPL_<op>, <op>_backward_data and <op>_backward_weights name version ("" unsets).
void force_conv(const std::string& op, const std::string& version) {
  for (const char* suffix : {"", "_backward_data", "_backward_weights"}) {
    const std::string var = "SIGNET_IMPL_" + op + suffix;
    if (version.empty())
      unsetenv(var.c_str());
    else
      setenv(var.c_str(), version.c_str(), 1);
  }
}

// Forward and the three gradients of a convolution on cuda, with each cuda version forced in
// turn (v2_igemm, v1_naive), against the cpu; tol per output term count.
template <class F>
void compare_conv(const Shape& xs, const Shape& ws, bool bias, F f, const std::string& what) {
  const std::string op = xs.size() == 4 ? "conv2d" : "conv3d";
  const Tensor x0 = random_cpu(xs, 31), w0 = random_cpu(ws, 32), b0 = random_cpu({ws[0]}, 33);
  Tensor xc = x0.detach(), wc = w0.detach(), bc = b0.detach();
  for (Tensor* t : {&xc, &wc, &bc}) t->requires_grad_();
  const Tensor yc = f(xc, wc, bias ? bc : Tensor());
  const Tensor g = random_cpu(yc.shape(), 34);
  sum(mul(yc, g)).backward();
  const double terms = double(shape_numel(ws) / ws[0]);
  const double per_weight = double(yc.numel() / ws[0]);
  for (const std::string version : {"v2_igemm", "v1_naive"}) {
    const std::string label = what + " " + version;
    Tensor xd = x0.cuda(), wd = w0.cuda(), bd = b0.cuda();
    for (Tensor* t : {&xd, &wd, &bd}) t->requires_grad_();
    force_conv(op, version);
    const Tensor yd = f(xd, wd, bias ? bd : Tensor());
    sum(mul(yd, g.cuda())).backward();
    force_conv(op, "");
    expect_device_close(yd, yc.detach(), 1e-5 * std::sqrt(terms), label + " y");
    expect_device_close(xd.grad(), xc.grad(), 1e-5 * std::sqrt(terms * ws[0]), label + " dx");
    expect_device_close(wd.grad(), wc.grad(), 1e-5 * std::sqrt(per_weight), label + " dw");
    if (bias)
      expect_device_close(bd.grad(), bc.grad(), 1e-5 * std::sqrt(per_weight), label + " db");
  }
}

TEST(CudaConv, Conv2dForwardBackwardMatchCpu) {
  compare_conv(
      {2, 3, 9, 8}, {5, 3, 3, 2}, true,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv2d(x, w, b, {2, 1}, {1, 0}, {1}, 1);
      },
      "conv2d k(3,2) s(2,1) p(1,0)");
  compare_conv(
      {1, 4, 7, 9}, {6, 2, 3, 3}, false,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv2d(x, w, b, {1}, {2}, {2}, 2);
      },
      "conv2d groups 2 dilation 2 p2");
  compare_conv(
      {2, 3, 6, 5}, {3, 1, 3, 3}, true,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv2d(x, w, b, {3, 2}, {1}, {1}, 3);
      },
      "conv2d depthwise s(3,2) p1");
}

TEST(CudaConv, Conv3dForwardBackwardMatchCpu) {
  compare_conv(
      {1, 2, 5, 6, 7}, {3, 2, 2, 3, 3}, true,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv3d(x, w, b, {1, 2, 1}, {1, 0, 1}, {1}, 1);
      },
      "conv3d k(2,3,3) s(1,2,1) p(1,0,1)");
  compare_conv(
      {2, 4, 4, 5, 5}, {4, 2, 3, 2, 3}, false,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv3d(x, w, b, {2}, {1}, {1, 2, 1}, 2);
      },
      "conv3d groups 2 dilation (1,2,1)");
}

}  // namespace
}  // namespace signet
