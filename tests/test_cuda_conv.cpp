// The CUDA convolution ladder (conv_naive.h's v1; conv_igemm.h's implicit GEMM: v2 SIMT, v3 tf32
// and v4 bf16 tensor cores, each for forward, backward-data and backward-weights;
// conv_first_layer.h's small-C forward) in the host SIMT mode, each against the CPU reference
// (ref::conv_* in double) on odd shapes: remainders against every tile (128 rows and columns,
// depth slices of 8 and 16), stride 2, dilation 2, groups, padding 0 and 2, batch 1, 3-D, a
// reduction split over blocks. The tensor-core versions are compared with a reference whose
// inputs were rounded the way the hardware rounds them, and shown to fail against unrounded ones.
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/common/bf16.h"
#include "kernels/common/conv_desc.h"
#include "kernels/cuda/conv_first_layer.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/conv_naive.h"
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
// tiles for backward-weights); 3-D with groups, stride 2 and dilation 2; 130 filters over 3 x 56
// output columns (two row tiles forward and backward-weights, two column tiles); 2 x 34 x 34
// outputs, where backward-weights splits its reduction (last).
std::vector<kernels::ConvDesc> cases() {
  return {
      conv_desc(2, 2, 3, 20, 1, {1, 9, 11}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}),
      conv_desc(2, 1, 4, 6, 2, {1, 7, 8}, {1, 3, 2}, {1, 1, 1}, {0, 2, 2}, {1, 2, 1}),
      conv_desc(3, 1, 2, 3, 1, {5, 6, 7}, {2, 3, 3}, {1, 2, 1}, {1, 1, 0}, {1, 1, 1}),
      conv_desc(2, 1, 5, 7, 1, {1, 13, 12}, {1, 3, 3}, {1, 2, 2}, {0, 0, 0}, {1, 2, 2}),
      conv_desc(2, 1, 130, 3, 1, {1, 5, 5}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
      conv_desc(3, 2, 4, 6, 2, {4, 5, 6}, {3, 2, 3}, {2, 1, 2}, {1, 0, 1}, {1, 1, 2}),
      conv_desc(2, 3, 5, 130, 1, {1, 8, 7}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
      conv_desc(2, 2, 2, 3, 1, {1, 34, 34}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}),
  };
}

// How a version rounds its GEMM inputs before multiplying: not at all (fp32 FMA), to tf32 as
// cvt.rna does (10 mantissa bits, to nearest, ties away from zero), or to bf16 as the kernels'
// bf16_bits does (7 mantissa bits, to nearest even).
enum class Rounding { kNone, kTf32, kBf16 };

// x rounded as r says (the inputs are finite: tf32 adds half an ulp of the kept part and
// truncates).
float round_input(float x, Rounding r) {
  if (r == Rounding::kBf16) return float(kernels::bf16(x));
  if (r == Rounding::kNone) return x;
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x1000u) & 0xffffe000u;
  std::memcpy(&x, &u, 4);
  return x;
}

// Widens to double after rounding each value as r says, or to the absolute values.
std::vector<double> wide(const std::vector<float>& v, Rounding r = Rounding::kNone,
                         bool absolute = false) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = round_input(v[i], r);
    out[i] = absolute ? std::fabs(x) : x;
  }
  return out;
}

// The tolerance for one output summing `terms` products in fp32 in any order, plus two more
// roundings (a bias add, a split reduction's final add): the error of a sum of k terms in fp32
// is bounded by gamma_k sum |a_i b_i|, gamma_k = k u / (1 - k u), u = 2^-24 (Higham, Accuracy
// and Stability of Numerical Algorithms, 3.1); `magnitude` is that sum of absolute products (the
// reference on absolute inputs). The fp32 versions fuse each product into its sum. Tensor cores:
// the products of tf32 (11 x 11 significant bits) or bf16 (8 x 8) inputs are exact in fp32, but
// the accumulator adds with truncation rather than to nearest (Fasi, Higham, Mikaitis, Pranesh
// 2021): u = 2^-23 there.
double tolerance(int64_t terms, double magnitude, Rounding r) {
  const double g = double(terms + 2) * std::ldexp(1.0, r == Rounding::kNone ? -24 : -23);
  return g / (1.0 - g) * magnitude;
}

// Elements of got outside tolerance(terms, mag, r) of want (ADD_FAILURE on the first when
// report); NaN (an element never written) fails.
int64_t count_bad(const std::string& what, const std::vector<float>& got,
                  const std::vector<double>& want, const std::vector<double>& mag, int64_t terms,
                  Rounding r, bool report = true) {
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tolerance(terms, mag[i], r)) && bad++ == 0 && report)
      ADD_FAILURE() << what << ": [" << i << "] = " << got[i] << ", want " << want[i];
  return bad;
}

// A short description of d for failure messages.
std::string describe(const kernels::ConvDesc& d) {
  return testing::conv_name(d);
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

// The longest reduction over which a rounding version must fail the unrounded check: beyond it
// the fp32 bound on the sum can exceed the inputs' tf32 rounding error.
constexpr int64_t kRoundingVisibleTerms = 100;

// Checks got against the reference computed by `ref` on inputs rounded as r says (want) with the
// bound of `terms` products; for a rounding version over a short reduction, also that got does
// NOT match the unrounded reference within the fp32 bound (the version really rounds), counted
// in *rounding_checks. ref(rounding, absolute, out) fills out.
template <class Ref>
void expect_matches(const std::string& what, const std::vector<float>& got, int64_t terms,
                    Rounding r, int* rounding_checks, const Ref& ref) {
  std::vector<double> want(got.size()), mag(got.size());
  ref(r, false, want);
  ref(r, true, mag);
  EXPECT_EQ(count_bad(what, got, want, mag, terms, r), 0);
  if (r == Rounding::kNone || terms > kRoundingVisibleTerms) return;
  ++*rounding_checks;
  ref(Rounding::kNone, false, want);
  ref(Rounding::kNone, true, mag);
  EXPECT_GT(count_bad("", got, want, mag, terms, Rounding::kNone, false), 0)
      << what << ": matches the unrounded inputs";
}

using Forward = cudaError_t (*)(const kernels::ConvDesc&, const float*, const float*, const float*,
                                float*);

// Runs a forward version on d (with and without bias) against ref::conv_forward on x and w
// rounded as r says (the bias is added in fp32); every element of y must be written (y starts
// as NaN).
void check_forward(const char* name, Forward run, Rounding r, const kernels::ConvDesc& d,
                   uint32_t seed, int* rounding_checks) {
  const Sizes n = sizes(d);
  const int64_t depth = d.c / d.groups * kernels::conv_kernel_volume(d);
  const std::vector<float> x = uniform_floats(n.x, seed), w = uniform_floats(n.w, seed + 1),
                           bias = uniform_floats(size_t(d.k), seed + 2);
  for (bool with_bias : {true, false}) {
    DeviceBuffer<float> bx(x), bw(w), bb(bias),
        by(std::vector<float>(n.y, std::numeric_limits<float>::quiet_NaN()));
    EXPECT_EQ(run(d, bx.get(), bw.get(), with_bias ? bb.get() : nullptr, by.get()), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
    expect_matches(
        std::string(name) + " " + describe(d) + " bias " + std::to_string(with_bias) + " y",
        by.read(), depth, r, rounding_checks, [&](Rounding rr, bool abs, std::vector<double>& out) {
          const std::vector<double> b = wide(bias, Rounding::kNone, abs);
          ref::conv_forward<double>(d, wide(x, rr, abs).data(), wide(w, rr, abs).data(),
                                    with_bias ? b.data() : nullptr, out.data());
        });
  }
}

// A version of each pass: its name, how it rounds, the call.
struct ForwardVersion {
  const char* name;
  Forward run;
  Rounding rounding;
};
struct DataVersion {
  const char* name;
  cudaError_t (*run)(const kernels::ConvDesc&, const float*, const float*, float*);
  Rounding rounding;
};
struct WeightsVersion {
  const char* name;
  cudaError_t (*run)(const kernels::ConvDesc&, const float*, const float*, float*, float*, float*);
  Rounding rounding;
};

const ForwardVersion kForward[] = {
    {"v1_naive", conv_v1_naive_forward_f32, Rounding::kNone},
    {"v2_igemm", conv_v2_igemm_forward_f32, Rounding::kNone},
    {"v3_igemm_tf32", conv_v3_igemm_tf32_forward_f32, Rounding::kTf32},
    {"v4_igemm_bf16", conv_v4_igemm_bf16_forward_f32, Rounding::kBf16},
};
const DataVersion kData[] = {
    {"v1_naive", conv_v1_naive_backward_data_f32, Rounding::kNone},
    {"v2_igemm", conv_v2_igemm_backward_data_f32, Rounding::kNone},
    {"v3_igemm_tf32", conv_v3_igemm_tf32_backward_data_f32, Rounding::kTf32},
    {"v4_igemm_bf16", conv_v4_igemm_bf16_backward_data_f32, Rounding::kBf16},
};
const WeightsVersion kWeights[] = {
    {"v1_naive",
     [](const kernels::ConvDesc& d, const float* x, const float* dy, float* dw, float* db, float*) {
       return conv_v1_naive_backward_weights_f32(d, x, dy, dw, db);
     },
     Rounding::kNone},
    {"v2_igemm", conv_v2_igemm_backward_weights_f32, Rounding::kNone},
    {"v3_igemm_tf32", conv_v3_igemm_tf32_backward_weights_f32, Rounding::kTf32},
    {"v4_igemm_bf16", conv_v4_igemm_bf16_backward_weights_f32, Rounding::kBf16},
};

TEST(CudaConv, ForwardVersionsMatchReference) {
  for (const ForwardVersion& v : kForward) {
    uint32_t seed = 100;
    int rounding_checks = 0;
    for (const kernels::ConvDesc& d : cases())
      check_forward(v.name, v.run, v.rounding, d, seed += 10, &rounding_checks);
    EXPECT_GE(rounding_checks, v.rounding == Rounding::kNone ? 0 : 4) << v.name;
  }
}

// The first-layer path on every case it applies to (all but the 130-channel one).
TEST(CudaConv, FirstLayerForwardMatchesReference) {
  uint32_t seed = 200;
  int applied = 0;
  for (const kernels::ConvDesc& d : cases()) {
    if (!conv_first_layer_applies(d)) continue;
    ++applied;
    int rounding_checks = 0;
    check_forward("first_layer", conv_first_layer_forward_f32, Rounding::kNone, d, seed += 10,
                  &rounding_checks);
  }
  EXPECT_EQ(applied, 7);
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
TEST(CudaConv, BackwardDataVersionsMatchReference) {
  for (const DataVersion& v : kData) {
    uint32_t seed = 300;
    int rounding_checks = 0;
    for (const kernels::ConvDesc& d : cases()) {
      const Sizes n = sizes(d);
      seed += 10;
      const std::vector<float> dy = uniform_floats(n.y, seed), w = uniform_floats(n.w, seed + 1);
      DeviceBuffer<float> bdy(dy), bw(w),
          bdx(std::vector<float>(n.x, std::numeric_limits<float>::quiet_NaN()));
      EXPECT_EQ(v.run(d, bdy.get(), bw.get(), bdx.get()), cudaSuccess);
      EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
      expect_matches(std::string(v.name) + " " + describe(d) + " dx", bdx.read(),
                     d.k / d.groups * kernels::conv_kernel_volume(d), v.rounding, &rounding_checks,
                     [&](Rounding r, bool abs, std::vector<double>& out) {
                       ref::conv_backward_data<double>(d, wide(dy, r, abs).data(),
                                                       wide(w, r, abs).data(), out.data());
                     });
    }
    EXPECT_GE(rounding_checks, v.rounding == Rounding::kNone ? 0 : 4) << v.name;
  }
}

// Runs backward-weights version v on d with its workspace; returns dw and dbias.
std::pair<std::vector<float>, std::vector<float>> run_weights(const WeightsVersion& v,
                                                              const kernels::ConvDesc& d,
                                                              const std::vector<float>& x,
                                                              const std::vector<float>& dy) {
  const Sizes n = sizes(d);
  const size_t ws_floats = conv_igemm_workspace_bytes(d) / sizeof(float);
  DeviceBuffer<float> bx(x), bdy(dy), ws(ws_floats > 0 ? ws_floats : 1),
      bdw(std::vector<float>(n.w, std::numeric_limits<float>::quiet_NaN())),
      bdb(std::vector<float>(size_t(d.k), std::numeric_limits<float>::quiet_NaN()));
  EXPECT_EQ(v.run(d, bx.get(), bdy.get(), bdw.get(), bdb.get(), ws_floats > 0 ? ws.get() : nullptr),
            cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
  return {bdw.read(), bdb.read()};
}

// Backward-weights and dbias against ref::conv_backward_weights: each dw element sums N * outvol
// products of x and dy rounded as the version rounds them; dbias is summed in fp32 from the
// unrounded dy by every version. The last case must really split its reduction (and use the
// workspace).
TEST(CudaConv, BackwardWeightsVersionsMatchReference) {
  for (const WeightsVersion& v : kWeights) {
    uint32_t seed = 400;
    int rounding_checks = 0;
    for (const kernels::ConvDesc& d : cases()) {
      const Sizes n = sizes(d);
      seed += 10;
      const std::vector<float> x = uniform_floats(n.x, seed), dy = uniform_floats(n.y, seed + 1);
      const auto [dw, db] = run_weights(v, d, x, dy);
      const int64_t terms = d.n * kernels::conv_out_volume(d);
      std::vector<double> scratch(n.w), want_b(size_t(d.k)), mag_b(size_t(d.k));
      const std::string what = std::string(v.name) + " " + describe(d);
      expect_matches(what + " dw", dw, terms, v.rounding, &rounding_checks,
                     [&](Rounding r, bool abs, std::vector<double>& out) {
                       ref::conv_backward_weights<double>(d, wide(x, r, abs).data(),
                                                          wide(dy, r, abs).data(), out.data(),
                                                          want_b.data());
                     });
      ref::conv_backward_weights<double>(d, wide(x).data(), wide(dy).data(), scratch.data(),
                                         want_b.data());
      ref::conv_backward_weights<double>(d, wide(x, Rounding::kNone, true).data(),
                                         wide(dy, Rounding::kNone, true).data(), scratch.data(),
                                         mag_b.data());
      EXPECT_EQ(count_bad(what + " dbias", db, want_b, mag_b, terms, Rounding::kNone), 0);
    }
    EXPECT_GE(rounding_checks, v.rounding == Rounding::kNone ? 0 : 2) << v.name;
  }
  const kernels::ConvDesc split = cases().back();
  EXPECT_GT(conv_igemm_weights_splits(split), 1);
  EXPECT_GT(conv_igemm_workspace_bytes(split), 0u);
}

// The split reduction is deterministic in every implicit-GEMM version: two runs agree bit for
// bit; without its workspace the call is refused.
TEST(CudaConv, IgemmBackwardWeightsIsDeterministic) {
  const kernels::ConvDesc d = cases().back();
  const Sizes n = sizes(d);
  const std::vector<float> x = uniform_floats(n.x, 7), dy = uniform_floats(n.y, 8);
  for (const WeightsVersion& v : kWeights) {
    if (std::string(v.name) == "v1_naive") continue;
    const auto first = run_weights(v, d, x, dy), second = run_weights(v, d, x, dy);
    EXPECT_EQ(first.first, second.first) << v.name;
    EXPECT_EQ(first.second, second.second) << v.name;
    EXPECT_EQ(v.run(d, nullptr, nullptr, nullptr, nullptr, nullptr), cudaErrorInvalidValue)
        << v.name;
  }
}

}  // namespace
}  // namespace signet::cuda
