// Convolution: the v2 im2col kernels against the reference on odd shapes, the conv ops against
// PyTorch fixtures, float64 gradchecks, the selection rule and forcing (v1, v2 and v3), errors
// and nn modules. The v3 kernels themselves: test_conv_v3.cpp.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/nn/conv.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/packed_cache.h"
#include "kernels/cpu/conv_im2col.h"
#include "kernels/reference/conv.h"
#include "tests/support/conv_shapes.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace {

using signet::DType;
using signet::Shape;
using signet::Tensor;
using signet::cpu::SimdPath;
using signet::kernels::ConvDesc;
using signet::testing::conv_desc;
using signet::testing::conv_name;
using signet::testing::expect_close_relative;
using signet::testing::expect_error;
using signet::testing::gradcheck;
using signet::testing::random_f64;
using signet::testing::uniform_floats;
using Grads = std::vector<Tensor>;

// Odd shapes: C = 1 and C = 3 first layers, batch 1, stride 2, dilation 2, groups 2 and 4,
// depthwise, padding 0 and 2, 1x1 (the direct GEMM and a strided one), several column tiles.
std::vector<ConvDesc> odd_cases() {
  return {
      conv_desc(1, 1, 5, 1, {13, 11}, {3, 3}, {1, 1}, {0, 0}, {1, 1}),
      conv_desc(2, 3, 7, 1, {17, 19}, {3, 3}, {2, 2}, {2, 2}, {1, 1}),
      conv_desc(2, 6, 10, 2, {15, 14}, {3, 2}, {1, 2}, {2, 0}, {2, 2}),
      conv_desc(3, 4, 4, 4, {9, 10}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      conv_desc(2, 8, 12, 4, {11, 13}, {3, 3}, {2, 2}, {0, 0}, {2, 1}),
      conv_desc(2, 5, 9, 1, {7, 9}, {1, 1}, {1, 1}, {0, 0}, {1, 1}),
      conv_desc(1, 70, 9, 1, {31, 37}, {1, 1}, {1, 1}, {0, 0}, {1, 1}),
      conv_desc(1, 4, 3, 1, {9, 7}, {1, 1}, {2, 2}, {0, 0}, {1, 1}),
      conv_desc(2, 16, 20, 1, {37, 41}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      conv_desc(2, 3, 5, 1, {5, 7, 6}, {3, 3, 3}, {1, 2, 2}, {1, 1, 1}, {1, 1, 1}),
      conv_desc(1, 4, 6, 2, {6, 7, 5}, {2, 3, 2}, {1, 1, 1}, {0, 2, 1}, {2, 2, 2}),
      conv_desc(1, 3, 5, 1, {9, 13, 11}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}),
  };
}

// Runs the three v2 passes and the reference on the same random bytes; the workspace and the
// outputs start as NaN so that every element must be written.
void expect_v2_matches_reference(const ConvDesc& d, int threads, SimdPath path) {
  const int64_t cg = d.c / d.groups, taps = signet::kernels::conv_kernel_volume(d);
  const size_t nx = d.n * d.c * signet::kernels::conv_in_volume(d);
  const size_t ny = d.n * d.k * signet::kernels::conv_out_volume(d);
  const size_t nw = d.k * cg * taps;
  const std::vector<float> x = uniform_floats(nx, 1), w = uniform_floats(nw, 2),
                           b = uniform_floats(d.k, 3);
  const std::vector<float> dy = uniform_floats(ny, 4);
  const float nan = std::nanf("");
  std::vector<char> ws(signet::cpu::conv_workspace_bytes(d, threads));
  std::fill(reinterpret_cast<float*>(ws.data()),
            reinterpret_cast<float*>(ws.data()) + ws.size() / 4, nan);
  std::vector<float> y(ny, nan), y_ref(ny), dx(nx, nan), dx_ref(nx), dw(nw, nan), dw_ref(nw);
  std::vector<float> db(d.k, nan), db_ref(d.k);
  signet::cpu::conv_v2_im2col_forward(d, x.data(), w.data(), b.data(), y.data(), ws.data(), threads,
                                      path);
  signet::ref::conv_forward<float>(d, x.data(), w.data(), b.data(), y_ref.data());
  const double tol = 2e-6 * static_cast<double>(cg * taps + d.k + d.n * 64);
  expect_close_relative(y, y_ref, tol, "forward");
  signet::cpu::conv_v2_im2col_backward_data(d, dy.data(), w.data(), dx.data(), ws.data(), threads,
                                            path);
  signet::ref::conv_backward_data<float>(d, dy.data(), w.data(), dx_ref.data());
  expect_close_relative(dx, dx_ref, tol, "backward data");
  signet::cpu::conv_v2_im2col_backward_weights(d, x.data(), dy.data(), dw.data(), db.data(),
                                               ws.data(), threads, path);
  signet::ref::conv_backward_weights<float>(d, x.data(), dy.data(), dw_ref.data(), db_ref.data());
  const double tol_w = 2e-6 * static_cast<double>(d.n * signet::kernels::conv_out_volume(d));
  expect_close_relative(dw, dw_ref, tol_w, "backward weights");
  expect_close_relative(db, db_ref, tol_w, "bias gradient");
}

TEST(ConvKernels, V2Im2colMatchesReferenceOnOddShapes) {
  for (const ConvDesc& d : odd_cases()) {
    SCOPED_TRACE(conv_name(d));
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(threads);
      expect_v2_matches_reference(d, threads, signet::cpu::active_simd_path());
    }
  }
}

TEST(ConvKernels, V2Im2colMatchesReferenceOnEverySimdPath) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (const ConvDesc& d : {odd_cases()[2], odd_cases()[6], odd_cases()[10]})
      expect_v2_matches_reference(d, 2, path);
  }
}

TEST(ConvKernels, V2IsBitwiseRepeatableForAThreadCount) {
  const ConvDesc d = odd_cases()[8];
  const size_t nx = d.n * d.c * signet::kernels::conv_in_volume(d);
  const size_t ny = d.n * d.k * signet::kernels::conv_out_volume(d);
  const size_t nw = d.k * d.c * signet::kernels::conv_kernel_volume(d);
  const std::vector<float> x = uniform_floats(nx, 5), w = uniform_floats(nw, 6),
                           dy = uniform_floats(ny, 7);
  std::vector<char> ws(signet::cpu::conv_workspace_bytes(d, 3));
  const SimdPath path = signet::cpu::active_simd_path();
  std::vector<float> runs[2][3];
  for (auto& r : runs) {
    r[0].resize(ny), r[1].resize(nx), r[2].resize(nw);
    signet::cpu::conv_v2_im2col_forward(d, x.data(), w.data(), nullptr, r[0].data(), ws.data(), 3,
                                        path);
    signet::cpu::conv_v2_im2col_backward_data(d, dy.data(), w.data(), r[1].data(), ws.data(), 3,
                                              path);
    signet::cpu::conv_v2_im2col_backward_weights(d, x.data(), dy.data(), r[2].data(), nullptr,
                                                 ws.data(), 3, path);
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(runs[0][i], runs[1][i]) << i;
}

TEST(ConvKernels, V2WorkspaceIsBoundedByOneTilePerThread) {
  // The need does not grow with the batch, and a large image needs far less than its im2col.
  ConvDesc small = conv_desc(1, 64, 64, 1, {224, 224}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  ConvDesc big = small;
  big.n = 256;
  EXPECT_EQ(signet::cpu::conv_workspace_bytes(small, 2), signet::cpu::conv_workspace_bytes(big, 2));
  const size_t full_im2col = 64 * 9 * 224 * 224 * sizeof(float);
  EXPECT_LT(signet::cpu::conv_workspace_bytes(small, 2), full_im2col / 20);
  EXPECT_TRUE(signet::cpu::conv_is_pointwise(odd_cases()[5]));
  EXPECT_FALSE(signet::cpu::conv_is_pointwise(odd_cases()[7]));
}

// A fresh copy of the fixture tensor key in dtype (undefined when absent).
Tensor fixture(const std::map<std::string, Tensor>& f, const std::string& key, DType dtype) {
  auto it = f.find(key);
  return it == f.end() ? Tensor() : it->second.clone().to(dtype);
}

// Expects t to hold the fixture values of key within tol (absolute).
void expect_fixture(const Tensor& t, const std::map<std::string, Tensor>& f, const std::string& key,
                    double tol) {
  signet::testing::expect_close(t, f.at(key), tol, key);
}

// One fixture case and its arguments (as written by make_conv_fixtures.py).
struct ConvCase {
  const char* name;
  int dims;
  Shape stride, padding, dilation;
  int64_t groups;
};

// Runs a case in dtype and compares output and gradients with PyTorch's.
void expect_conv_case(const ConvCase& c, DType dtype, double tol) {
  SCOPED_TRACE(c.name);
  static const auto f = signet::testing::load_text_fixture("conv_cases.txt");
  const std::string p = std::string(c.name) + "/";
  Tensor x = fixture(f, p + "x", dtype).requires_grad_();
  Tensor w = fixture(f, p + "weight", dtype).requires_grad_();
  Tensor b = fixture(f, p + "bias", dtype);
  if (b.defined()) b.requires_grad_();
  Tensor y = c.dims == 2 ? signet::conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups)
                         : signet::conv3d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
  expect_fixture(y, f, p + "out", tol);
  signet::sum(signet::mul(y, fixture(f, p + "probe", dtype))).backward();
  expect_fixture(x.grad(), f, p + "grad.x", tol);
  expect_fixture(w.grad(), f, p + "grad.weight", tol);
  if (b.defined()) expect_fixture(b.grad(), f, p + "grad.bias", tol);
}

const ConvCase kCases[] = {
    {"conv2d_basic", 2, {1}, {1}, {1}, 1},        {"conv2d_strided", 2, {2}, {2, 0}, {2}, 2},
    {"conv2d_depthwise", 2, {1, 2}, {1}, {1}, 4}, {"conv2d_pointwise", 2, {1}, {0}, {1}, 1},
    {"conv3d_basic", 3, {1, 2, 2}, {1}, {1}, 1},  {"conv3d_dilated", 3, {1}, {0, 2, 1}, {2}, 2},
};

TEST(ConvOps, MatchPyTorchInFloat64) {
  for (const ConvCase& c : kCases) expect_conv_case(c, DType::f64, 1e-12);
}

TEST(ConvOps, MatchPyTorchInFloat32) {
  for (const ConvCase& c : kCases) expect_conv_case(c, DType::f32, 2e-5);
}

TEST(ConvOps, Conv2dGradcheck) {
  Tensor x = random_f64({2, 4, 6, 5}, -1, 1, 11), w = random_f64({6, 2, 3, 2}, -1, 1, 12);
  Tensor b = random_f64({6}, -1, 1, 13);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& v) {
        return signet::conv2d(v[0], v[1], v[2], {2, 1}, {1, 2}, {2, 1}, 2);
      },
      {x, w, b}));
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& v) { return signet::conv2d(v[0], v[1], Tensor(), {1}, {1}); },
      {random_f64({1, 3, 4, 4}, -1, 1, 14), random_f64({2, 3, 3, 3}, -1, 1, 15)}));
}

TEST(ConvOps, Conv3dGradcheck) {
  Tensor x = random_f64({1, 2, 4, 5, 3}, -1, 1, 21), w = random_f64({4, 1, 2, 3, 2}, -1, 1, 22);
  Tensor b = random_f64({4}, -1, 1, 23);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& v) {
        return signet::conv3d(v[0], v[1], v[2], {1, 2, 1}, {1, 0, 1}, {1, 1, 2}, 2);
      },
      {x, w, b}));
}

// Output and gradients of a convolution in f32 (the selected fast versions) against the same
// problem in f64 (the reference), from the same values.
void expect_f32_matches_f64(int dims, const Shape& xs, const Shape& ws, const Shape& padding) {
  Tensor x64 = random_f64(xs, -1, 1, 41), w64 = random_f64(ws, -1, 1, 42);
  Tensor b64 = random_f64({ws[0]}, -1, 1, 43);
  Grads out[2];
  for (int f = 0; f < 2; ++f) {
    const DType dt = f ? DType::f32 : DType::f64;
    Tensor x = x64.to(dt).detach().requires_grad_(), w = w64.to(dt).detach().requires_grad_();
    Tensor b = b64.to(dt).detach().requires_grad_();
    Tensor y =
        dims == 2 ? signet::conv2d(x, w, b, {1}, padding) : signet::conv3d(x, w, b, {1}, padding);
    Tensor probe = random_f64(y.shape(), -1, 1, 44).to(dt);
    signet::sum(signet::mul(y, probe)).backward();
    out[f] = {y, x.grad(), w.grad(), b.grad()};
  }
  const char* what[] = {"output", "grad x", "grad weight", "grad bias"};
  for (int i = 0; i < 4; ++i)
    signet::testing::expect_close(out[1][i].to(DType::f64), out[0][i], 2e-4, what[i]);
}

TEST(ConvOps, Float32FastPathsMatchFloat64Reference) {
  expect_f32_matches_f64(2, {3, 16, 9, 11}, {17, 16, 3, 3}, {1});
  expect_f32_matches_f64(2, {2, 20, 7, 30}, {33, 20, 3, 3}, {0, 2});
  expect_f32_matches_f64(3, {2, 16, 4, 5, 6}, {18, 16, 3, 3, 3}, {1});
}

// The f32 conv2d output and input gradient for x and w (padding 1) against the f64 reference
// of the same values.
void expect_matches_reference(const Tensor& x, const Tensor& w, const Tensor& dy) {
  Tensor x32 = x.detach().requires_grad_();
  Tensor y = signet::conv2d(x32, w, Tensor(), {1}, {1});
  signet::sum(signet::mul(y, dy)).backward();
  Tensor x64 = x.to(DType::f64).detach().requires_grad_();
  Tensor y64 = signet::conv2d(x64, w.to(DType::f64), Tensor(), {1}, {1});
  signet::sum(signet::mul(y64, dy.to(DType::f64))).backward();
  signet::testing::expect_close(y.to(DType::f64), y64, 1e-4, "output");
  signet::testing::expect_close(x32.grad().to(DType::f64), x64.grad(), 1e-4, "grad x");
}

TEST(ConvOps, PackedWeightsAreCachedByStorageVersion) {
  if (signet::cpu::active_simd_path() != SimdPath::avx512) GTEST_SKIP() << "v3 needs AVX-512";
  // 16 channels in and 20 filters: v3 forward and backward-data, each with its own packing.
  const Tensor x = random_f64({2, 16, 7, 9}, -1, 1, 51).to(DType::f32);
  const Tensor dy = random_f64({2, 20, 7, 9}, -1, 1, 52).to(DType::f32);
  Tensor w = random_f64({20, 16, 3, 3}, -1, 1, 53).to(DType::f32);
  const uint64_t before = signet::packed_cache().packs();
  expect_matches_reference(x, w, dy);
  EXPECT_EQ(signet::packed_cache().packs() - before, 2u) << "forward and backward-data pack once";
  const std::vector<float> first = signet::conv2d(x, w, Tensor(), {1}, {1}).to_vector<float>();
  expect_matches_reference(x, w, dy);
  EXPECT_EQ(signet::packed_cache().packs() - before, 2u) << "same storage and version: cached";
  EXPECT_EQ(signet::conv2d(x, w, Tensor(), {1}, {1}).to_vector<float>(), first);
  // An in-place write bumps the version: both packings are made again from the new values.
  w.copy_(random_f64({20, 16, 3, 3}, -1, 1, 54).to(DType::f32));
  expect_matches_reference(x, w, dy);
  EXPECT_EQ(signet::packed_cache().packs() - before, 4u);
  // Equal values in another storage pack again; the cache never answers for a storage it did not
  // see.
  expect_matches_reference(x, w.clone(), dy);
  EXPECT_EQ(signet::packed_cache().packs() - before, 6u);
}

TEST(ConvOps, PackedWeightsOfAViewAreCachedByTheView) {
  if (signet::cpu::active_simd_path() != SimdPath::avx512) GTEST_SKIP() << "v3 needs AVX-512";
  // The last 16 input channels of a (20, 24, 3, 3) weight, as the ConvLSTM's h-path takes its
  // weight: every call copies the view into a new storage, yet packs once per view and version.
  const Tensor x = random_f64({2, 16, 7, 9}, -1, 1, 61).to(DType::f32);
  Tensor w = random_f64({20, 24, 3, 3}, -1, 1, 62).to(DType::f32);
  const Tensor view = w.narrow(1, 8, 16);
  const uint64_t before = signet::packed_cache().packs();
  const std::vector<float> first = signet::conv2d(x, view, Tensor(), {1}, {1}).to_vector<float>();
  EXPECT_EQ(signet::packed_cache().packs() - before, 1u);
  EXPECT_EQ(signet::conv2d(x, view, Tensor(), {1}, {1}).to_vector<float>(), first);
  EXPECT_EQ(signet::packed_cache().packs() - before, 1u) << "the same view: cached";
  // Another view of the same storage (the first 16 channels) packs for itself.
  signet::conv2d(x, w.narrow(1, 0, 16), Tensor(), {1}, {1});
  EXPECT_EQ(signet::packed_cache().packs() - before, 2u);
  // An in-place write through the parent bumps the version: the view packs again, from the new
  // values, and gives what a fresh contiguous copy gives.
  w.copy_(random_f64({20, 24, 3, 3}, -1, 1, 63).to(DType::f32));
  const std::vector<float> changed = signet::conv2d(x, view, Tensor(), {1}, {1}).to_vector<float>();
  EXPECT_EQ(signet::packed_cache().packs() - before, 3u);
  EXPECT_NE(changed, first);
  EXPECT_EQ(signet::conv2d(x, view.clone(), Tensor(), {1}, {1}).to_vector<float>(), changed);
}

TEST(ConvOps, NonContiguousInputMatchesContiguous) {
  Tensor x = random_f64({2, 5, 6, 3}, -1, 1, 31).permute({0, 3, 1, 2});
  Tensor w = random_f64({4, 3, 3, 3}, -1, 1, 32);
  Tensor a = signet::conv2d(x, w, Tensor(), {1}, {1});
  Tensor b = signet::conv2d(x.contiguous(), w, Tensor(), {1}, {1});
  EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>());
}

TEST(ConvOps, GradientsReachOnlyTheInputsThatNeedThem) {
  // A first layer: the image needs no gradient, the weight and bias do (f32: the v2 passes).
  Tensor x = signet::rand({2, 3, 7, 6});
  Tensor w = signet::rand({8, 3, 3, 3}).requires_grad_(), b = signet::rand({8}).requires_grad_();
  signet::sum(signet::conv2d(x, w, b, {2}, {1})).backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_EQ(w.grad().shape(), w.shape());
  EXPECT_NEAR(b.grad().to_vector<float>()[0], 2 * 4 * 3, 1e-5);
  // Only the input: the weight stays without a gradient.
  Tensor x2 = signet::rand({1, 3, 5, 5}).requires_grad_(), w2 = signet::rand({4, 3, 3, 3});
  signet::sum(signet::conv2d(x2, w2)).backward();
  EXPECT_EQ(x2.grad().shape(), x2.shape());
  EXPECT_FALSE(w2.grad().defined());
}

TEST(ConvOps, ErrorsNameTheOpAndShapes) {
  Tensor x = signet::zeros({1, 4, 5, 5}), w = signet::zeros({6, 4, 3, 3});
  expect_error(
      [&] {
        signet::conv2d(x, signet::zeros({6, 3, 3, 3}));
      },
      {"conv2d", "[6, 3, 3, 3]", "[1, 4, 5, 5]"});
  expect_error(
      [&] {
        signet::conv2d(x, signet::zeros({6, 2, 3, 3}), Tensor(), {1}, {0}, {1}, 3);
      },
      {"conv2d", "groups=3"});
  expect_error([&] { signet::conv2d(x, w, signet::zeros({5})); }, {"conv2d", "bias", "[5]"});
  expect_error([&] { signet::conv2d(x, w, Tensor(), {1, 1, 1}); }, {"conv2d", "stride"});
  expect_error([&] { signet::conv2d(x, w, Tensor(), {0}); }, {"conv2d", "stride"});
  expect_error([&] { signet::conv2d(x, signet::zeros({6, 4, 7, 3})); }, {"conv2d", "smaller"});
  expect_error([&] { signet::conv3d(x, w); }, {"conv3d", "5 dims"});
  expect_error([&] { signet::conv2d(x, w.to(DType::f64)); }, {"conv2d", "f64"});
}

// In a fresh process (a death test): forces SIGNET_IMPL_<op>=impl (when impl is non-empty),
// profiles one f32 conv2d forward and backward on weight (K, C/groups, 3, 3) and exits, so the
// profile table printed at exit names the implementations that ran.
void run_conv_profiled(const char* op, const char* impl, int64_t k, int64_t groups, int64_t c = 4) {
  setenv("SIGNET_PROFILE", "1", 1);
  if (*impl) setenv((std::string("SIGNET_IMPL_") + op).c_str(), impl, 1);
  Tensor x = signet::rand({2, c, 9, 8}).requires_grad_();
  Tensor w = signet::rand({k, c / groups, 3, 3}).requires_grad_();
  signet::sum(signet::conv2d(x, w, signet::rand({k}), {1}, {1}, {1}, groups)).backward();
  std::exit(x.grad().defined() && w.grad().defined() ? 0 : 1);
}

TEST(ConvDispatch, SelectionRulePicksIm2colWithFourFiltersPerGroup) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* op : {"conv2d", "conv2d_backward_data", "conv2d_backward_weights"})
    EXPECT_EXIT(run_conv_profiled(op, "", 8, 2), ::testing::ExitedWithCode(0),
                std::string("SIGNET_PROFILE: ") + op + " +v2_im2col");
}

TEST(ConvDispatch, SelectionRuleKeepsDepthwiseOnReference) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* op : {"conv2d", "conv2d_backward_data", "conv2d_backward_weights"})
    EXPECT_EXIT(run_conv_profiled(op, "", 4, 4), ::testing::ExitedWithCode(0),
                std::string("SIGNET_PROFILE: ") + op + " +v1_reference");
}

TEST(ConvDispatch, SelectionRulePicksDirectForStrideOneWith16ChannelsAndNoGroups) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const bool avx512 = signet::cpu::active_simd_path() == SimdPath::avx512;
  for (const char* op : {"conv2d", "conv2d_backward_data", "conv2d_backward_weights"})
    EXPECT_EXIT(run_conv_profiled(op, "", 16, 1, 16), ::testing::ExitedWithCode(0),
                std::string("SIGNET_PROFILE: ") + op + (avx512 ? " +v3_direct" : " +v2_im2col"));
}

TEST(ConvDispatch, ForcingDirectOnAShapeItCannotRunFails) {
  setenv("SIGNET_IMPL_conv2d", "v3_direct", 1);
  expect_error(
      [] {
        signet::conv2d(signet::rand({1, 2, 9, 9}), signet::rand({16, 2, 3, 3}), Tensor(), {2});
      },
      {"conv2d", "v3_direct needs stride 1", "stride 1,2,2"});
  unsetenv("SIGNET_IMPL_conv2d");
}

TEST(ConvDispatch, SelectionRulePicksSmallCForAFirstLayerForward) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const bool avx512 = signet::cpu::active_simd_path() == SimdPath::avx512;
  EXPECT_EXIT(run_conv_profiled("conv2d", "", 8, 1, 3), ::testing::ExitedWithCode(0),
              std::string("SIGNET_PROFILE: conv2d +") + (avx512 ? "v4_small_c" : "v2_im2col"));
}

TEST(ConvDispatch, ForcingSmallCOnAShapeItCannotRunFails) {
  setenv("SIGNET_IMPL_conv2d", "v4_small_c", 1);
  expect_error(
      [] {
        signet::conv2d(signet::rand({1, 2, 9, 9}), signet::rand({16, 2, 3, 3}), Tensor(), {2});
      },
      {"conv2d", "v4_small_c needs stride 1", "stride 1,2,2"});
  unsetenv("SIGNET_IMPL_conv2d");
}

TEST(ConvDispatch, ForcedReferenceIsTheOneThatRuns) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* op : {"conv2d", "conv2d_backward_data", "conv2d_backward_weights"})
    EXPECT_EXIT(run_conv_profiled(op, "v1_reference", 8, 1), ::testing::ExitedWithCode(0),
                std::string("SIGNET_PROFILE: ") + op + " +v1_reference");
}

TEST(ConvDispatch, ForcingIm2colOnFloat64Fails) {
  setenv("SIGNET_IMPL_conv3d", "v2_im2col", 1);
  expect_error(
      [] {
        signet::conv3d(random_f64({1, 1, 3, 3, 3}), random_f64({4, 1, 1, 1, 1}));
      },
      {"SIGNET_IMPL_conv3d=v2_im2col", "f64"});
  unsetenv("SIGNET_IMPL_conv3d");
}

TEST(ConvModules, ParametersHavePyTorchNamesShapesAndInit) {
  signet::nn::Conv2d c2(6, 8, {3, 2}, {1}, {1}, {1}, 2);
  auto p2 = c2.named_parameters();
  ASSERT_EQ(p2.size(), 2u);
  EXPECT_EQ(p2[0].first, "weight");
  EXPECT_EQ(p2[1].first, "bias");
  EXPECT_EQ(c2.weight().shape(), (Shape{8, 3, 3, 2}));
  EXPECT_EQ(c2.bias().shape(), (Shape{8}));
  const double bound = 1 / std::sqrt(3.0 * 3 * 2);
  for (const Tensor& t : {c2.weight(), c2.bias()}) {
    EXPECT_LE(signet::max(signet::abs(t)).item(), bound);
    EXPECT_GT(signet::max(signet::abs(t)).item(), 0.5 * bound);
  }
  EXPECT_EQ(c2.forward(signet::rand({2, 6, 7, 5})).shape(), (Shape{2, 8, 7, 6}));

  signet::nn::Conv3d c3(3, 4, {3}, {2}, {1}, {1}, 1, false);
  ASSERT_EQ(c3.named_parameters().size(), 1u);
  EXPECT_EQ(c3.weight().shape(), (Shape{4, 3, 3, 3, 3}));
  EXPECT_LE(signet::max(signet::abs(c3.weight())).item(), 1 / std::sqrt(81.0));
  EXPECT_EQ(c3.forward(signet::rand({1, 3, 5, 6, 7})).shape(), (Shape{1, 4, 3, 3, 4}));
}

}  // namespace
