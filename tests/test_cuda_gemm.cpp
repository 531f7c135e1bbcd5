// The CUDA GEMM ladder (v1 naive, v2 shared tiles, v3 register tiles, v4 tf32 and v5 bf16 tensor
// cores, v6 bf16 through ldmatrix) in the host SIMT mode, each against the CPU reference (ref::gemm
// in double) on odd shapes with remainders in m, n and k, every transpose pair, beta zero and not,
// padded leading dimensions and strided batches. The tensor-core versions are compared with a
// reference whose inputs were first rounded the way the hardware rounds them (cvt.rna.tf32 / bf16
// nearest-even).
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/common/bf16.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/cuda/gemm_naive.h"
#include "kernels/cuda/gemm_tensor_core.h"
#include "kernels/cuda/gemm_tiled.h"
#include "kernels/reference/gemm.h"
#include "tests/support/fixtures.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {
namespace {

using kernels::GemmDesc;
using testing::uniform_floats;
using Version = cudaError_t (*)(const GemmDesc&, const float*, const float*, float*);

enum class Rounding { kNone, kTf32, kBf16 };

struct Rung {
  const char* name;
  Version run;
  Rounding rounding;
};

const Rung kRungs[] = {
    {"v1_naive", gemm_v1_naive_f32, Rounding::kNone},
    {"v2_tiled", gemm_v2_tiled_f32, Rounding::kNone},
    {"v3_register", gemm_v3_register_f32, Rounding::kNone},
    {"v4_tf32", gemm_v4_tf32_f32, Rounding::kTf32},
    {"v5_bf16", gemm_v5_bf16_f32, Rounding::kBf16},
    {"v6_bf16_ldmatrix", gemm_v6_bf16_ldmatrix_f32, Rounding::kBf16},
};

// x rounded as the tensor-core version feeds it to mma: tf32 keeps 10 mantissa bits, rounding
// to nearest with ties away from zero (cvt.rna: add half an ulp of the kept part, truncate; the
// test inputs are finite); bf16 keeps 7, to nearest even (the engine's kernels::bf16).
float round_input(float x, Rounding r) {
  if (r == Rounding::kBf16) return float(kernels::bf16(x));
  if (r == Rounding::kNone) return x;
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x1000u) & 0xffffe000u;
  std::memcpy(&x, &u, 4);
  return x;
}

// One problem: shapes, transposes, scalars, extra columns in every leading dimension, batches.
struct Case {
  int64_t m, n, k;
  bool trans_a, trans_b;
  double alpha, beta;
  int64_t pad = 0;
  int64_t batch = 1;
};

// The descriptor of c: leading dimensions are the stored row lengths plus pad; batch items
// follow each other with one extra element between them (so odd strides occur too).
GemmDesc desc_of(const Case& c) {
  GemmDesc d;
  d.m = c.m, d.n = c.n, d.k = c.k, d.trans_a = c.trans_a, d.trans_b = c.trans_b;
  d.lda = (c.trans_a ? c.m : c.k) + c.pad;
  d.ldb = (c.trans_b ? c.k : c.n) + c.pad;
  d.ldc = c.n + c.pad;
  d.alpha = c.alpha, d.beta = c.beta, d.batch = c.batch;
  d.stride_a = (c.trans_a ? c.k : c.m) * d.lda + (c.batch > 1 ? c.pad + 1 : 0);
  d.stride_b = (c.trans_b ? c.n : c.k) * d.ldb + (c.batch > 1 ? c.pad + 1 : 0);
  d.stride_c = c.m * d.ldc + (c.batch > 1 ? c.pad + 1 : 0);
  return d;
}

// Elements spanned by `rows` rows of length ld in each of `batch` items `stride` apart.
size_t span(int64_t rows, int64_t ld, int64_t batch, int64_t stride) {
  return size_t((batch - 1) * stride + rows * ld);
}

// The tolerance for one element of C. Products of rounded inputs are exact in fp32 (tf32: 11 x
// 11 significant bits, bf16: 8 x 8; the fp32 versions fuse each product into its sum), so the
// error is that of summing k terms in fp32 in some order (tiles, mma's internal order), bounded
// by gamma_k * sum |a_i b_i| with gamma_k = k u / (1 - k u) (Higham, Accuracy and Stability of
// Numerical Algorithms, 3.1); alpha * acc and + beta * c add two more roundings: k + 2 in all.
// u = 2^-23, twice fp32's unit roundoff, because the tensor cores' accumulator adds with
// truncation rather than to nearest (Fasi, Higham, Mikaitis, Pranesh 2021). Scaled by
// |alpha| sum |a||b| + |beta| |c|, the same product on absolute values.
double tolerance(int64_t k, double magnitude) {
  const double g = double(k + 2) * std::ldexp(1.0, -23);
  return g / (1.0 - g) * magnitude;
}

// What the check found: elements outside the tolerance (the first one described), and the
// largest error over its tolerance.
struct Outcome {
  int64_t bad = 0;
  std::string first;
  double worst_ratio = 0;
};

// Runs rung on c with `reference_rounding` applied to the reference's inputs, compares every
// element of C and checks that C's padding and the gaps between batch items are untouched.
Outcome run_case(const Rung& rung, const Case& c, Rounding reference_rounding, uint32_t seed) {
  const GemmDesc d = desc_of(c);
  const size_t na = span(c.trans_a ? c.k : c.m, d.lda, c.batch, d.stride_a);
  const size_t nb = span(c.trans_b ? c.n : c.k, d.ldb, c.batch, d.stride_b);
  const size_t nc = span(c.m, d.ldc, c.batch, d.stride_c);
  const std::vector<float> a = uniform_floats(na, seed), b = uniform_floats(nb, seed + 1);
  std::vector<float> c0 = uniform_floats(nc, seed + 2);
  // beta == 0 must ignore C's previous contents, NaN included.
  if (c.beta == 0)
    for (float& x : c0) x = std::numeric_limits<float>::quiet_NaN();

  DeviceBuffer<float> da(a), db(b), dc(c0);
  EXPECT_EQ(rung.run(d, da.get(), db.get(), dc.get()), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
  const std::vector<float> got = dc.read();

  std::vector<double> ra(na), rb(nb), rc(nc), aa(na), ab(nb), ac(nc);
  for (size_t i = 0; i < na; ++i) ra[i] = round_input(a[i], reference_rounding);
  for (size_t i = 0; i < nb; ++i) rb[i] = round_input(b[i], reference_rounding);
  for (size_t i = 0; i < nc; ++i) rc[i] = c0[i];
  for (size_t i = 0; i < na; ++i) aa[i] = std::fabs(ra[i]);
  for (size_t i = 0; i < nb; ++i) ab[i] = std::fabs(rb[i]);
  for (size_t i = 0; i < nc; ++i) ac[i] = std::fabs(rc[i]);
  ref::gemm<double>(d, ra.data(), rb.data(), rc.data());
  GemmDesc dm = d;
  dm.alpha = std::fabs(d.alpha), dm.beta = std::fabs(d.beta);
  ref::gemm<double>(dm, aa.data(), ab.data(), ac.data());

  Outcome out;
  std::vector<bool> inside(nc, false);
  for (int64_t t = 0; t < c.batch; ++t)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        const size_t at = size_t(t * d.stride_c + i * d.ldc + j);
        inside[at] = true;
        const double err = std::fabs(double(got[at]) - rc[at]), tol = tolerance(c.k, ac[at]);
        if (tol > 0) out.worst_ratio = std::max(out.worst_ratio, err / tol);
        if (!(err <= tol) && out.bad++ == 0)
          out.first = "C[" + std::to_string(t) + "][" + std::to_string(i) + "][" +
                      std::to_string(j) + "] = " + std::to_string(got[at]) + ", want " +
                      std::to_string(rc[at]) + " +- " + std::to_string(tol);
      }
  for (size_t i = 0; i < nc; ++i)
    if (!inside[i] && !(std::isnan(got[i]) && std::isnan(c0[i])) && got[i] != c0[i] &&
        out.bad++ == 0)
      out.first = "element " + std::to_string(i) + " outside C was written";
  return out;
}

// Shapes with remainders against every tile (32 for v2; 128 x 128 x 8 for v3; 128 x 128 x 16
// for v4 and v5) in each dimension, sizes 1 and just over one block tile included.
const Case kShapes[] = {
    {1, 1, 1, false, false, 1, 0},       {7, 5, 3, false, false, 1, 0.5},
    {33, 65, 17, false, false, -1.5, 0}, {130, 9, 33, false, false, 1, -1},
    {5, 130, 65, false, false, 0.5, 0},  {65, 33, 130, false, false, 1, 2},
    {129, 131, 20, false, false, 1, 0},
};

TEST(CudaGemm, EveryVersionEveryTransposeOddShapes) {
  for (const Rung& rung : kRungs)
    for (Case c : kShapes)
      for (int t = 0; t < 4; ++t) {
        c.trans_a = t & 1, c.trans_b = t & 2;
        const Outcome o = run_case(rung, c, rung.rounding, uint32_t(c.m * 7 + c.k + t));
        EXPECT_EQ(o.bad, 0) << rung.name << " m " << c.m << " n " << c.n << " k " << c.k
                            << " trans " << c.trans_a << c.trans_b << " beta " << c.beta << ": "
                            << o.first;
      }
}

// Multiples of 4 everywhere with unpadded, 16-byte aligned rows take the float4 and 16-byte
// cp.async paths in v3-v5; a pad of 4 keeps them, a pad of 3 forces the scalar ones.
TEST(CudaGemm, AlignedAndUnalignedLeadingDimensions) {
  for (const Rung& rung : kRungs)
    for (int64_t pad : {0, 4, 3})
      for (int t = 0; t < 4; ++t) {
        Case c{36, 68, 24, bool(t & 1), bool(t & 2), 1, pad % 2 ? 0.25 : 0, pad};
        const Outcome o = run_case(rung, c, rung.rounding, uint32_t(100 + pad * 4 + t));
        EXPECT_EQ(o.bad, 0) << rung.name << " pad " << pad << " trans " << c.trans_a << c.trans_b
                            << ": " << o.first;
      }
}

// Strided batches: three items with gaps between them (padding and an odd extra element).
TEST(CudaGemm, StridedBatches) {
  for (const Rung& rung : kRungs)
    for (int t = 0; t < 4; ++t) {
      Case c{33, 20, 12, bool(t & 1), bool(t & 2), 1.5, t % 2 ? 0.0 : -0.5, t, 3};
      const Outcome o = run_case(rung, c, rung.rounding, uint32_t(200 + t));
      EXPECT_EQ(o.bad, 0) << rung.name << " trans " << c.trans_a << c.trans_b << ": " << o.first;
    }
}

// k = 0 leaves alpha * 0 + beta * C; empty m or n launch nothing.
TEST(CudaGemm, EmptyDimensions) {
  for (const Rung& rung : kRungs) {
    const Outcome o = run_case(rung, Case{9, 7, 0, false, true, 1, 0.5}, rung.rounding, 300);
    EXPECT_EQ(o.bad, 0) << rung.name << ": " << o.first;
    GemmDesc d = desc_of(Case{0, 5, 3, false, false, 1, 0});
    EXPECT_EQ(rung.run(d, nullptr, nullptr, nullptr), cudaSuccess) << rung.name;
  }
}

// The tensor-core versions really round their inputs: against the unrounded fp32 reference
// their error goes far past the fp32 tolerance (so the rounding-aware reference is what makes
// them pass, and a version that skipped the rounding would fail its check above).
TEST(CudaGemm, TensorCoreVersionsRoundTheirInputs) {
  for (const Rung& rung : kRungs) {
    if (rung.rounding == Rounding::kNone) continue;
    const Outcome o = run_case(rung, Case{40, 24, 64, false, false, 1, 0}, Rounding::kNone, 400);
    EXPECT_GT(o.bad, 0) << rung.name;
    EXPECT_GT(o.worst_ratio, 10.0) << rung.name;
  }
}

}  // namespace
}  // namespace signet::cuda
