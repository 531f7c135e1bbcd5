// The CUDA convolution kernels beyond v1 (conv_igemm.h: implicit-GEMM forward, backward-data and
// backward-weights, tf32 tensor-core forward; conv_first_layer.h: the small-C forward) in the host
// SIMT mode, each against the CPU reference (ref::conv_* in double) on odd shapes: remainders
// against every tile, stride 2, dilation 2, groups, padding 0 and 2, batch 1, 3-D, a reduction
// split over blocks.
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/common/conv_desc.h"
#include "kernels/cuda/conv_first_layer.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/reference/conv.h"
#include "tests/support/conv_shapes.h"
#include "tests/support/fixtures.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {
namespace {

using testing::conv_desc;
using testing::uniform_floats;
// The shapes every direction runs on: a first layer (C = 3) with stride 2 and more than 16
// filters; groups with dilation 2 and padding 2 at batch 1; 3-D with mixed strides; padding 0
// with stride and dilation 2; 130 channels (two 128-row tiles for backward-data, ten column
// tiles for backward-weights); 2 x 34 x 34 outputs, where backward-weights splits its reduction.
std::vector<kernels::ConvDesc> cases() {
  return {
      conv_desc(2, 2, 3, 20, 1, {1, 9, 11}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}),
      conv_desc(2, 1, 4, 6, 2, {1, 7, 8}, {1, 3, 2}, {1, 1, 1}, {0, 2, 2}, {1, 2, 1}),
      conv_desc(3, 1, 2, 3, 1, {5, 6, 7}, {2, 3, 3}, {1, 2, 1}, {1, 1, 0}, {1, 1, 1}),
      conv_desc(2, 1, 5, 7, 1, {1, 13, 12}, {1, 3, 3}, {1, 2, 2}, {0, 0, 0}, {1, 2, 2}),
      conv_desc(2, 1, 130, 3, 1, {1, 5, 5}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
      conv_desc(2, 2, 2, 3, 1, {1, 34, 34}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
  };
}

// x rounded to tf32 as cvt.rna does: 10 mantissa bits, to nearest with ties away from zero (add
// half an ulp of the kept part, truncate; the inputs are finite).
float round_tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x1000u) & 0xffffe000u;
  std::memcpy(&x, &u, 4);
  return x;
}

// Widens to double, or to the absolute values in double; tf32 rounds each value first.
std::vector<double> wide(const std::vector<float>& v, bool absolute = false, bool tf32 = false) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = tf32 ? round_tf32(v[i]) : v[i];
    out[i] = absolute ? std::fabs(x) : x;
  }
  return out;
}

// The tolerance for one output summing `terms` fp32 products (each fused into its sum, or exact)
// in any order, plus two more roundings (a bias add, a split reduction's final add): the error of
// a sum of k terms in fp32 is bounded by gamma_k sum |a_i b_i|, gamma_k = k u / (1 - k u), u =
// 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, 3.1); `magnitude` is that sum of
// absolute products (the reference on absolute inputs). Tensor cores: the products of tf32
// inputs (11 x 11 significant bits) are exact in fp32, but the accumulator adds with truncation
// rather than to nearest (Fasi, Higham, Mikaitis, Pranesh 2021): u = 2^-23 there.
double tolerance(int64_t terms, double magnitude, bool truncating = false) {
  const double g = double(terms + 2) * std::ldexp(1.0, truncating ? -23 : -24);
  return g / (1.0 - g) * magnitude;
}

// Elements of got outside tolerance(terms, mag) of want (ADD_FAILURE on the first); NaN (an
// element never written) fails.
int64_t count_bad(const std::string& what, const std::vector<float>& got,
                  const std::vector<double>& want, const std::vector<double>& mag, int64_t terms,
                  bool truncating = false, bool report = true) {
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tolerance(terms, mag[i], truncating)) && bad++ == 0 &&
        report)
      ADD_FAILURE() << what << ": [" << i << "] = " << got[i] << ", want " << want[i];
  return bad;
}

// A short description of d for failure messages.
std::string describe(const kernels::ConvDesc& d) {
  return "dims " + std::to_string(d.dims) + " n " + std::to_string(d.n) + " c " +
         std::to_string(d.c) + " k " + std::to_string(d.k) + " groups " + std::to_string(d.groups);
}

// Element counts of x, w and y.
struct Sizes {
  size_t x, w, y;
};
// The element counts of d's tensors.
Sizes sizes(const kernels::ConvDesc& d) {
  return {size_t(d.n * d.c * kernels::conv_in_volume(d)),
          size_t(d.k * d.c / d.groups * kernels::conv_kernel_volume(d)),
          size_t(d.n * d.k * kernels::conv_out_volume(d))};
}

using Forward = cudaError_t (*)(const kernels::ConvDesc&, const float*, const float*, const float*,
                                float*);

// Runs a forward version on d (with and without bias) against ref::conv_forward, on x and w
// rounded to tf32 for a tensor-core version (the bias is added in fp32); every element of y must
// be written (y starts as NaN). With tf32, also checks that the version really rounds: against
// the unrounded reference and the fp32 bound some element must fail (where the depth is at most
// 100; over longer sums the fp32 bound grows past the inputs' rounding error).
void check_forward(const char* name, Forward run, const kernels::ConvDesc& d, uint32_t seed,
                   bool tf32 = false) {
  const Sizes n = sizes(d);
  const int64_t depth = d.c / d.groups * kernels::conv_kernel_volume(d);
  const std::vector<float> x = uniform_floats(n.x, seed), w = uniform_floats(n.w, seed + 1),
                           bias = uniform_floats(size_t(d.k), seed + 2);
  for (bool with_bias : {true, false}) {
    DeviceBuffer<float> bx(x), bw(w), bb(bias),
        by(std::vector<float>(n.y, std::numeric_limits<float>::quiet_NaN()));
    EXPECT_EQ(run(d, bx.get(), bw.get(), with_bias ? bb.get() : nullptr, by.get()), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
    std::vector<double> want(n.y), mag(n.y);
    const std::vector<double> rb = wide(bias), ab = wide(bias, true);
    ref::conv_forward<double>(d, wide(x, false, tf32).data(), wide(w, false, tf32).data(),
                              with_bias ? rb.data() : nullptr, want.data());
    ref::conv_forward<double>(d, wide(x, true, tf32).data(), wide(w, true, tf32).data(),
                              with_bias ? ab.data() : nullptr, mag.data());
    const std::vector<float> got = by.read();
    EXPECT_EQ(count_bad(std::string(name) + " " + describe(d) + " bias " +
                            std::to_string(with_bias) + " y",
                        got, want, mag, depth, tf32),
              0);
    if (!tf32 || depth > 100) continue;  // longer sums: fp32's bound covers the rounding
    ref::conv_forward<double>(d, wide(x).data(), wide(w).data(), with_bias ? rb.data() : nullptr,
                              want.data());
    ref::conv_forward<double>(d, wide(x, true).data(), wide(w, true).data(),
                              with_bias ? ab.data() : nullptr, mag.data());
    EXPECT_GT(count_bad("", got, want, mag, depth, false, false), 0)
        << name << " " << describe(d) << ": matches the unrounded inputs";
  }
}

TEST(CudaConv, IgemmForwardMatchesReference) {
  uint32_t seed = 100;
  for (const kernels::ConvDesc& d : cases())
    check_forward("v2_igemm", conv_v2_igemm_forward_f32, d, seed += 10);
}

TEST(CudaConv, IgemmTf32ForwardMatchesRoundedReference) {
  uint32_t seed = 150;
  for (const kernels::ConvDesc& d : cases())
    check_forward("v3_igemm_tf32", conv_v3_igemm_tf32_forward_f32, d, seed += 10, true);
}

// The first-layer path on every case it applies to (all but the 130-channel one).
TEST(CudaConv, FirstLayerForwardMatchesReference) {
  uint32_t seed = 200;
  int applied = 0;
  for (const kernels::ConvDesc& d : cases()) {
    if (!conv_first_layer_applies(d)) continue;
    ++applied;
    check_forward("first_layer", conv_first_layer_forward_f32, d, seed += 10);
  }
  EXPECT_EQ(applied, 5);
}

// More than kFirstLayerMaxDepth channel-taps: refused before any launch.
TEST(CudaConv, FirstLayerRefusesDeepFilters) {
  const kernels::ConvDesc d =
      conv_desc(2, 1, 32, 4, 1, {1, 6, 6}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1});
  EXPECT_FALSE(conv_first_layer_applies(d));
  EXPECT_EQ(conv_first_layer_forward_f32(d, nullptr, nullptr, nullptr, nullptr),
            cudaErrorInvalidValue);
}

// Backward-data against ref::conv_backward_data: each dx element sums K/groups * taps products
// (the taps that do not read it contribute exact zeros).
TEST(CudaConv, IgemmBackwardDataMatchesReference) {
  uint32_t seed = 300;
  for (const kernels::ConvDesc& d : cases()) {
    const Sizes n = sizes(d);
    seed += 10;
    const std::vector<float> dy = uniform_floats(n.y, seed), w = uniform_floats(n.w, seed + 1);
    DeviceBuffer<float> bdy(dy), bw(w),
        bdx(std::vector<float>(n.x, std::numeric_limits<float>::quiet_NaN()));
    EXPECT_EQ(conv_v2_igemm_backward_data_f32(d, bdy.get(), bw.get(), bdx.get()), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
    std::vector<double> want(n.x), mag(n.x);
    ref::conv_backward_data<double>(d, wide(dy).data(), wide(w).data(), want.data());
    ref::conv_backward_data<double>(d, wide(dy, true).data(), wide(w, true).data(), mag.data());
    EXPECT_EQ(count_bad("v2_igemm " + describe(d) + " dx", bdx.read(), want, mag,
                        d.k / d.groups * kernels::conv_kernel_volume(d)),
              0);
  }
}

// Runs backward-weights on d with its workspace; returns dw and dbias.
std::pair<std::vector<float>, std::vector<float>> run_weights(const kernels::ConvDesc& d,
                                                              const std::vector<float>& x,
                                                              const std::vector<float>& dy) {
  const Sizes n = sizes(d);
  const size_t ws_floats = conv_igemm_workspace_bytes(d) / sizeof(float);
  DeviceBuffer<float> bx(x), bdy(dy), ws(ws_floats > 0 ? ws_floats : 1),
      bdw(std::vector<float>(n.w, std::numeric_limits<float>::quiet_NaN())),
      bdb(std::vector<float>(size_t(d.k), std::numeric_limits<float>::quiet_NaN()));
  EXPECT_EQ(conv_v2_igemm_backward_weights_f32(d, bx.get(), bdy.get(), bdw.get(), bdb.get(),
                                               ws_floats > 0 ? ws.get() : nullptr),
            cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
  return {bdw.read(), bdb.read()};
}

// Backward-weights and dbias against ref::conv_backward_weights: each dw element sums N * outvol
// products; the last case must really split its reduction (and use the workspace).
TEST(CudaConv, IgemmBackwardWeightsMatchesReference) {
  uint32_t seed = 400;
  for (const kernels::ConvDesc& d : cases()) {
    const Sizes n = sizes(d);
    seed += 10;
    const std::vector<float> x = uniform_floats(n.x, seed), dy = uniform_floats(n.y, seed + 1);
    const auto [dw, db] = run_weights(d, x, dy);
    std::vector<double> want(n.w), mag(n.w), want_b(size_t(d.k)), mag_b(size_t(d.k));
    ref::conv_backward_weights<double>(d, wide(x).data(), wide(dy).data(), want.data(),
                                       want_b.data());
    ref::conv_backward_weights<double>(d, wide(x, true).data(), wide(dy, true).data(), mag.data(),
                                       mag_b.data());
    const int64_t terms = d.n * kernels::conv_out_volume(d);
    EXPECT_EQ(count_bad("v2_igemm " + describe(d) + " dw", dw, want, mag, terms), 0);
    EXPECT_EQ(count_bad("v2_igemm " + describe(d) + " dbias", db, want_b, mag_b, terms), 0);
  }
  const kernels::ConvDesc split = cases().back();
  EXPECT_GT(conv_igemm_weights_splits(split), 1);
  EXPECT_GT(conv_igemm_workspace_bytes(split), 0u);
}

// The split reduction is deterministic: two runs agree bit for bit; without its workspace the
// call is refused.
TEST(CudaConv, IgemmBackwardWeightsIsDeterministic) {
  const kernels::ConvDesc d = cases().back();
  const Sizes n = sizes(d);
  const std::vector<float> x = uniform_floats(n.x, 7), dy = uniform_floats(n.y, 8);
  const auto first = run_weights(d, x, dy), second = run_weights(d, x, dy);
  EXPECT_EQ(first.first, second.first);
  EXPECT_EQ(first.second, second.second);
  EXPECT_EQ(conv_v2_igemm_backward_weights_f32(d, nullptr, nullptr, nullptr, nullptr, nullptr),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace signet::cuda
