// The pack-once / multiply-many SGEMM (kernels/cpu/gemm_prepacked.h) against ref::gemm: odd
// shapes, every transpose, alpha/beta, shapes crossing the cache blocks, 1-3 threads, every SIMD
// path the CPU runs; one packed B reused for several A; bitwise equal to sgemm_v3_packed on one
// thread (same k-blocks and micro-kernel, so the LSTM's results do not change with it). The
// transposed variant (sgemm_pack_bt / sgemm_prepacked_t) on the same shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_prepacked.h"
#include "kernels/reference/gemm.h"
#include "tests/support/fixtures.h"

namespace {

using signet::cpu::SimdPath;
using signet::kernels::GemmDesc;
using signet::testing::uniform_floats;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A descriptor with padded leading dims (ld = cols + 3).
GemmDesc desc(int64_t m, int64_t n, int64_t k, bool ta, bool tb, double alpha, double beta) {
  GemmDesc d;
  d.m = m, d.n = n, d.k = k, d.trans_a = ta, d.trans_b = tb, d.alpha = alpha, d.beta = beta;
  d.lda = (ta ? m : k) + 3;
  d.ldb = (tb ? k : n) + 3;
  d.ldc = n + 3;
  return d;
}

// Stored sizes of A, B and C of d.
size_t a_size(const GemmDesc& d) {
  return static_cast<size_t>((d.trans_a ? d.k : d.m) * d.lda);
}
size_t b_size(const GemmDesc& d) {
  return static_cast<size_t>((d.trans_b ? d.n : d.k) * d.ldb);
}
size_t c_size(const GemmDesc& d) {
  return static_cast<size_t>(d.m * d.ldc);
}

// op(B) of d packed once on `path` (a 64-byte aligned view into the returned buffer).
struct PackedB {
  std::vector<float> storage;
  float* data = nullptr;
};
PackedB pack(const GemmDesc& d, const float* b, int threads, SimdPath path,
             bool transposed = false) {
  PackedB p;
  p.storage.assign((transposed ? signet::cpu::sgemm_packed_bt_floats(d, path)
                               : signet::cpu::sgemm_packed_b_floats(d, path)) +
                       16,
                   kNaN);
  const uintptr_t at = reinterpret_cast<uintptr_t>(p.storage.data());
  p.data = p.storage.data() + ((at + 63) / 64 * 64 - at) / sizeof(float);
  if (transposed)
    signet::cpu::sgemm_pack_bt(d, b, p.data, threads, path);
  else
    signet::cpu::sgemm_pack_b(d, b, p.data, threads, path);
  return p;
}

// C = alpha op(A) packed + beta C with a workspace sized by sgemm_prepacked(_t)_workspace_bytes.
void multiply(const GemmDesc& d, const float* a, const PackedB& b, float* c, int threads,
              SimdPath path, bool transposed = false) {
  if (transposed) {
    std::vector<unsigned char> ws(signet::cpu::sgemm_prepacked_t_workspace_bytes(d, threads, path));
    return signet::cpu::sgemm_prepacked_t(d, a, b.data, c, ws.data(), threads, path);
  }
  std::vector<unsigned char> ws(signet::cpu::sgemm_prepacked_workspace_bytes(d, threads, path));
  signet::cpu::sgemm_prepacked(d, a, b.data, c, ws.data(), threads, path);
}

// Compares every element of c (padding included) with want within the reduction's tolerance.
void expect_near(const GemmDesc& d, const std::vector<float>& c, const std::vector<float>& want) {
  const float tol = 1e-6f * static_cast<float>(d.k + 8);
  int bad = 0;
  for (size_t i = 0; i < c.size() && bad < 5; ++i) {
    const bool both_nan = std::isnan(want[i]) && std::isnan(c[i]);
    if (!both_nan && !(std::fabs(c[i] - want[i]) <= tol)) {
      ++bad;
      ADD_FAILURE() << "m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << d.trans_a
                    << " tb=" << d.trans_b << " beta=" << d.beta << ": C[" << i << "] = " << c[i]
                    << ", reference " << want[i];
    }
  }
}

// Packs B once and multiplies two different A by it, each against ref::gemm; beta == 0 starts
// from a NaN-filled C (which must not leak), the padding of C must stay untouched.
void expect_matches_reference(const GemmDesc& d, int threads, SimdPath path,
                              bool transposed = false) {
  const std::vector<float> b = uniform_floats(b_size(d), 2);
  const PackedB packed = pack(d, b.data(), threads, path, transposed);
  for (unsigned seed : {1u, 4u}) {
    const std::vector<float> a = uniform_floats(a_size(d), seed);
    std::vector<float> c =
        d.beta == 0 ? std::vector<float>(c_size(d), kNaN) : uniform_floats(c_size(d), seed + 10);
    std::vector<float> want = c;
    signet::ref::gemm<float>(d, a.data(), b.data(), want.data());
    multiply(d, a.data(), packed, c.data(), threads, path, transposed);
    expect_near(d, c, want);
  }
}

TEST(GemmPrepacked, MatchesReferenceOnOddShapesEveryPath) {
  const int64_t sizes[] = {1, 7, 33, 257};
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (int64_t m : sizes)
      for (int64_t n : sizes)
        for (int64_t k : sizes)
          for (int t = 0; t < 4; ++t)
            expect_matches_reference(desc(m, n, k, t & 1, t & 2, 1.5, t < 2 ? 0.0 : 0.5), 2, path);
  }
}

TEST(GemmPrepacked, MatchesReferenceAcrossCacheBlocksAndThreadCounts) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (int threads : {1, 2, 3}) {
      expect_matches_reference(desc(493, 40, 300, false, false, 1.0, 0.0), threads, path);
      expect_matches_reference(desc(33, 1037, 517, false, true, 1.0, 1.0), threads, path);
      expect_matches_reference(desc(35, 333, 1030, true, false, -1.0, 2.0), threads, path);
      expect_matches_reference(desc(28, 70, 45, false, true, 0.5, -0.5), threads, path);
      expect_matches_reference(desc(20, 70, 45, true, false, 0.5, 0.0), threads, path);
      expect_matches_reference(desc(7, 33, 0, false, true, 1.0, 0.5), threads, path);
      expect_matches_reference(desc(7, 33, 0, false, false, 1.0, 0.0), threads, path);
    }
  }
}

// The LSTM's two step shapes (forward h W^T, backward dG W), scaled down, on one thread.
TEST(GemmPrepacked, OneThreadIsBitwiseEqualToV3Packed) {
  const SimdPath path = signet::cpu::detect_simd_path();
  for (const GemmDesc& d : {desc(32, 4 * 97, 300, false, true, 1.0, 1.0),
                            desc(32, 97, 4 * 97, false, false, 1.0, 1.0)}) {
    const std::vector<float> a = uniform_floats(a_size(d), 5), b = uniform_floats(b_size(d), 6);
    std::vector<float> c = uniform_floats(c_size(d), 7), want = c;
    std::vector<unsigned char> ws(signet::cpu::sgemm_workspace_bytes(d, 1));
    signet::cpu::sgemm_v3_packed(d, a.data(), b.data(), want.data(), ws.data(), 1, path);
    multiply(d, a.data(), pack(d, b.data(), 1, path), c.data(), 1, path);
    for (size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c[i], want[i]) << i;
  }
}

TEST(GemmPrepackedTransposed, MatchesReferenceOnOddShapesEveryPath) {
  const int64_t sizes[] = {1, 7, 33, 257};
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (int64_t m : sizes)
      for (int64_t n : sizes)
        for (int64_t k : sizes)
          for (int t = 0; t < 4; ++t)
            expect_matches_reference(desc(m, n, k, t & 1, t & 2, 1.5, t < 2 ? 0.0 : 0.5), 2, path,
                                     true);
  }
}

TEST(GemmPrepackedTransposed, MatchesReferenceOnStepShapesAndThreadCounts) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (int threads : {1, 2, 3}) {
      expect_matches_reference(desc(32, 4 * 97, 300, false, true, 1.0, 1.0), threads, path, true);
      expect_matches_reference(desc(32, 97, 4 * 97, false, false, 1.0, 1.0), threads, path, true);
      expect_matches_reference(desc(45, 1037, 517, false, true, -1.0, 2.0), threads, path, true);
      expect_matches_reference(desc(7, 33, 0, false, true, 1.0, 0.5), threads, path, true);
      expect_matches_reference(desc(7, 33, 0, false, false, 1.0, 0.0), threads, path, true);
    }
  }
}

// The rule that picks the transposed product: the LSTM batch of 32 on the 12 x 32 AVX-512 tile
// (32 x 4096: 4104 x 32 padded elements against 36 x 4096), but not a batch of 13 (13 x 148).
TEST(GemmPrepackedTransposed, PadsLessOnlyWhereTheBatchFillsTheTile) {
  if (!signet::cpu::simd_path_supported(SimdPath::avx512)) GTEST_SKIP() << "no AVX-512";
  EXPECT_TRUE(signet::cpu::sgemm_prepacked_t_pads_less(desc(32, 4096, 1024, false, true, 1, 1),
                                                       SimdPath::avx512));
  EXPECT_TRUE(signet::cpu::sgemm_prepacked_t_pads_less(desc(32, 1024, 4096, false, false, 1, 1),
                                                       SimdPath::avx512));
  EXPECT_FALSE(signet::cpu::sgemm_prepacked_t_pads_less(desc(13, 148, 37, false, true, 1, 1),
                                                        SimdPath::avx512));
  EXPECT_FALSE(signet::cpu::sgemm_prepacked_t_pads_less(desc(36, 4096, 1024, false, true, 1, 1),
                                                        SimdPath::avx512));
}

}  // namespace
