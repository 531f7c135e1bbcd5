// The CPU SGEMM versions against ref::gemm: odd shapes, every transpose, alpha/beta, batches,
// each SIMD path the CPU runs; and the matmul dispatcher running (and reporting) each version.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/matmul.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/cpu/gemm_store_choice.h"
#include "kernels/reference/gemm.h"
#include "tests/support/fixtures.h"

namespace {

using signet::cpu::SimdPath;
using signet::kernels::GemmDesc;
using signet::testing::uniform_floats;
using Kernel = std::function<void(const GemmDesc&, const float*, const float*, float*)>;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A descriptor with padded leading dims (ld = cols + 3) and padded batch strides.
GemmDesc desc(int64_t m, int64_t n, int64_t k, bool ta, bool tb, double alpha, double beta,
              int64_t batch = 1) {
  GemmDesc d;
  d.m = m, d.n = n, d.k = k, d.trans_a = ta, d.trans_b = tb, d.alpha = alpha, d.beta = beta;
  d.lda = (ta ? m : k) + 3;
  d.ldb = (tb ? k : n) + 3;
  d.ldc = n + 3;
  d.batch = batch;
  d.stride_a = (ta ? k : m) * d.lda + 5;
  d.stride_b = (tb ? n : k) * d.ldb + 5;
  d.stride_c = m * d.ldc + 5;
  return d;
}

// v3 on one SIMD path with a workspace sized by sgemm_workspace_bytes.
Kernel v3_on(SimdPath path, int threads) {
  return [path, threads](const GemmDesc& d, const float* a, const float* b, float* c) {
    std::vector<unsigned char> ws(signet::cpu::sgemm_workspace_bytes(d, threads));
    signet::cpu::sgemm_v3_packed(d, a, b, c, ws.data(), threads, path);
  };
}

// v4 on one SIMD path with a workspace sized by sgemm_v4_workspace_bytes.
Kernel v4_on(SimdPath path, int threads) {
  return [path, threads](const GemmDesc& d, const float* a, const float* b, float* c) {
    std::vector<unsigned char> ws(signet::cpu::sgemm_v4_workspace_bytes(d, threads));
    signet::cpu::sgemm_v4_shared(d, a, b, c, ws.data(), threads, path);
  };
}

// v5 on one SIMD path with a workspace sized by sgemm_v5_workspace_bytes.
Kernel v5_on(SimdPath path, int threads) {
  return [path, threads](const GemmDesc& d, const float* a, const float* b, float* c) {
    std::vector<unsigned char> ws(signet::cpu::sgemm_v5_workspace_bytes(d, threads));
    signet::cpu::sgemm_v5_direct_b(d, a, b, c, ws.data(), threads, path);
  };
}

// v4 on one SIMD path with its split between threads forced.
Kernel v4_split_on(SimdPath path, int threads, signet::cpu::V4Split split) {
  return [path, threads, split](const GemmDesc& d, const float* a, const float* b, float* c) {
    std::vector<unsigned char> ws(signet::cpu::sgemm_v4_workspace_bytes(d, threads));
    signet::cpu::sgemm_v4_shared(d, a, b, c, ws.data(), threads, path, split);
  };
}

// v2 on `threads` threads.
Kernel v2_on(int threads) {
  return [threads](const GemmDesc& d, const float* a, const float* b, float* c) {
    signet::cpu::sgemm_v2_blocked(d, a, b, c, threads);
  };
}

// Runs kernel and ref::gemm on the same random inputs and compares every element of C, padding
// included (which must stay untouched); beta == 0 starts from a NaN-filled C.
void expect_matches_reference(const Kernel& kernel, const GemmDesc& d) {
  const size_t na = d.batch * d.stride_a, nb = d.batch * d.stride_b, nc = d.batch * d.stride_c;
  const std::vector<float> a = uniform_floats(na, 1), b = uniform_floats(nb, 2);
  std::vector<float> c = d.beta == 0 ? std::vector<float>(nc, kNaN) : uniform_floats(nc, 3);
  std::vector<float> want = c;
  signet::ref::gemm<float>(d, a.data(), b.data(), want.data());
  kernel(d, a.data(), b.data(), c.data());
  const float tol = 1e-6f * static_cast<float>(d.k + 8);
  int bad = 0;
  for (size_t i = 0; i < nc && bad < 5; ++i) {
    const bool both_nan = std::isnan(want[i]) && std::isnan(c[i]);
    if (!both_nan && !(std::fabs(c[i] - want[i]) <= tol)) {
      ++bad;
      ADD_FAILURE() << "m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << d.trans_a
                    << " tb=" << d.trans_b << " beta=" << d.beta << " batch=" << d.batch << ": C["
                    << i << "] = " << c[i] << ", reference " << want[i];
    }
  }
}

// Every (m, n, k) from {1, 7, 33, 257}, every transpose, beta 0 and 0.5, alpha 1.5.
void expect_odd_shapes_match(const Kernel& kernel) {
  const int64_t sizes[] = {1, 7, 33, 257};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes)
        for (int t = 0; t < 4; ++t)
          for (double beta : {0.0, 0.5})
            expect_matches_reference(kernel, desc(m, n, k, t & 1, t & 2, 1.5, beta));
}

// Shapes crossing every cache block (MC, KC, NC), batches, k == 0 and alpha = -1.
void expect_blocks_and_batches_match(const Kernel& kernel) {
  expect_matches_reference(kernel, desc(493, 40, 300, false, false, 1.0, 0.0));
  expect_matches_reference(kernel, desc(13, 2071, 300, true, true, -1.0, 2.0));
  expect_matches_reference(kernel, desc(493, 50, 270, true, false, 1.0, 0.0));
  expect_matches_reference(kernel, desc(14, 2090, 260, false, true, 1.0, 0.5));
  for (int t = 0; t < 4; ++t)
    expect_matches_reference(kernel, desc(19, 45, 37, t & 1, t & 2, 0.75, t < 2 ? 0.0 : -1.0, 3));
  expect_matches_reference(kernel, desc(7, 33, 0, false, false, 1.0, 0.0));
  expect_matches_reference(kernel, desc(7, 33, 0, false, true, 1.0, 0.5));
}

TEST(GemmCpu, V2BlockedMatchesReferenceOnOddShapes) {
  expect_odd_shapes_match(v2_on(2));
  expect_blocks_and_batches_match(v2_on(2));
}

TEST(GemmCpu, V3PackedMatchesReferenceOnEveryPath) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    expect_odd_shapes_match(v3_on(path, 2));
    expect_blocks_and_batches_match(v3_on(path, 2));
  }
}

TEST(GemmCpu, V3PackedOneThreadMatchesReference) {
  expect_blocks_and_batches_match(v3_on(signet::cpu::detect_simd_path(), 1));
}

TEST(GemmCpu, V4SharedMatchesReferenceOnEveryPath) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    expect_odd_shapes_match(v4_on(path, 2));
    expect_blocks_and_batches_match(v4_on(path, 2));
  }
}

// Every row count of a last sliver (m = 4, 8 and 12..23: remainders 0..11 of the widest MR),
// with a full and a cut sliver of columns, every transpose, beta 0 and non-zero: the AVX-512 path
// runs its tile cut to the sliver's rows straight into C there, the others the edge tile.
TEST(GemmCpu, EveryLastSliverRowCountMatchesReference) {
  std::vector<int64_t> rows = {4, 8};
  for (int64_t m = 12; m < 24; ++m) rows.push_back(m);
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (int64_t m : rows)
      for (int t = 0; t < 4; ++t)
        for (double beta : {0.0, -0.5}) {
          expect_matches_reference(v3_on(path, 1), desc(m, 70, 45, t & 1, t & 2, 0.5, beta));
          expect_matches_reference(v4_on(path, 2), desc(m, 70, 45, t & 1, t & 2, 0.5, beta));
        }
  }
}

// shared_b's chunks: 96 rows where every thread still gets six, down to 24 (multiples of 24).
TEST(GemmCpu, V4ChunkRowsKeepSixChunksAThread) {
  using signet::cpu::sgemm_v4_chunk_rows;
  EXPECT_EQ(sgemm_v4_chunk_rows(desc(1024, 1024, 1024, false, false, 1, 0), 1), 96);
  EXPECT_EQ(sgemm_v4_chunk_rows(desc(1024, 1024, 1024, false, false, 1, 0), 2), 72);
  EXPECT_EQ(sgemm_v4_chunk_rows(desc(600, 64, 64, false, false, 1, 0), 2), 48);
  EXPECT_EQ(sgemm_v4_chunk_rows(desc(600, 64, 64, false, false, 1, 0), 3), 24);
  EXPECT_EQ(sgemm_v4_chunk_rows(desc(100, 64, 64, false, false, 1, 0), 2), 24);
}

// Every column count of a last sliver (n = 49..96: remainders 1..48 of the widest NR) with whole
// and cut slivers of rows, every transpose, beta 0 and non-zero: on AVX-512 v4 runs its tile
// cut to 16 or 32 columns straight into C where the sliver is that wide, else into scratch.
TEST(GemmCpu, EveryLastSliverColumnCountMatchesReference) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (int64_t n = 49; n <= 96; ++n)
      for (int64_t m : {24, 19})
        for (int t = 0; t < 4; ++t)
          for (double beta : {0.0, -0.5})
            expect_matches_reference(v4_on(path, 2), desc(m, n, 45, t & 1, t & 2, 0.5, beta));
  }
}

// The shared-B split (m long enough for 8 row slivers per thread) and the own-columns split
// (shorter m) on 1, 2 and 3 threads: several KC blocks and batch items (the two B buffers
// alternate across both), own columns over three k spans (the last one short) and with its last
// chunks of columns cut narrower (n = 2100 on AVX-512: 6 + 6 chunks on 2 threads, 8 + 18 on 3),
// n past NC, thread shares of unequal length, every transpose.
TEST(GemmCpu, V4SharedAndOwnColumnSplitsOnOneToThreeThreads) {
  for (SimdPath path : signet::cpu::supported_simd_paths())
    for (int threads = 1; threads <= 3; ++threads) {
      SCOPED_TRACE(std::string(signet::cpu::simd_path_name(path)) + " threads " +
                   std::to_string(threads));
      for (int t = 0; t < 4; ++t) {
        expect_matches_reference(v4_on(path, threads), desc(301, 40, 530, t & 1, t & 2, 1, 0, 2));
        expect_matches_reference(v4_on(path, threads), desc(301, 2100, 8, t & 1, t & 2, 1, 0.5));
        expect_matches_reference(v4_on(path, threads), desc(40, 100, 2100, t & 1, t & 2, 1, 0, 2));
      }
    }
}

TEST(GemmCpu, V5DirectBMatchesReferenceOnEveryPath) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    expect_odd_shapes_match(v5_on(path, 2));
    expect_blocks_and_batches_match(v5_on(path, 2));
  }
}

// v5 on 1-3 threads (n split in 6-column groups, shares of unequal length), m around its tile
// (4 rows) and the rule's limit (64), k with and without a 16-step tail, batches (the packed A
// buffers of a transposed A alternate), every transpose.
TEST(GemmCpu, V5DirectBOnOneToThreeThreads) {
  for (SimdPath path : signet::cpu::supported_simd_paths())
    for (int threads = 1; threads <= 3; ++threads) {
      SCOPED_TRACE(std::string(signet::cpu::simd_path_name(path)) + " threads " +
                   std::to_string(threads));
      for (int t = 0; t < 4; ++t) {
        expect_matches_reference(v5_on(path, threads), desc(32, 1030, 272, t & 1, t & 2, 1, 0));
        expect_matches_reference(v5_on(path, threads), desc(65, 301, 33, t & 1, t & 2, 1, 0.5, 3));
        expect_matches_reference(v5_on(path, threads), desc(3, 2051, 40, t & 1, t & 2, -2, 1, 2));
      }
    }
}

// Each element of C is one tile's sum whatever the split, so v5 on 2 and 3 threads equals v5 on
// 1 thread bit for bit (transposed A and B, so the AVX-512 path packs A too).
TEST(GemmCpu, V5AnyThreadCountIsBitwiseEqualToOneThread) {
  for (bool ta : {false, true}) {
    const GemmDesc d = desc(32, 1300, 600, ta, true, 1.0, 0.0);
    const std::vector<float> a = uniform_floats(d.stride_a, 4), b = uniform_floats(d.stride_b, 5);
    std::vector<float> want(d.stride_c, 0);
    v5_on(signet::cpu::detect_simd_path(), 1)(d, a.data(), b.data(), want.data());
    for (int threads = 2; threads <= 3; ++threads) {
      std::vector<float> c(d.stride_c, 1);
      v5_on(signet::cpu::detect_simd_path(), threads)(d, a.data(), b.data(), c.data());
      for (int64_t i = 0; i < d.m; ++i)
        for (int64_t j = 0; j < d.n; ++j)
          ASSERT_EQ(c[i * d.ldc + j], want[i * d.ldc + j]) << "ta " << ta << ", " << threads;
    }
  }
}

// Each split forced on the shapes where the rule picks the other (m = 301 shares B, m = 40 takes
// own columns) on 2 and 3 threads, every transpose.
TEST(GemmCpu, V4ForcedSplitsMatchReference) {
  using signet::cpu::V4Split;
  const SimdPath path = signet::cpu::detect_simd_path();
  for (int threads = 2; threads <= 3; ++threads)
    for (int t = 0; t < 4; ++t) {
      expect_matches_reference(v4_split_on(path, threads, V4Split::own_columns),
                               desc(301, 290, 530, t & 1, t & 2, 1, 0.5, 2));
      expect_matches_reference(v4_split_on(path, threads, V4Split::shared_b),
                               desc(40, 300, 270, t & 1, t & 2, 1, 0));
    }
}

TEST(GemmCpu, V3SameThreadCountIsBitwiseRepeatable) {
  const GemmDesc d = desc(300, 260, 270, false, true, 1.0, 0.0);
  const std::vector<float> a = uniform_floats(d.stride_a, 4), b = uniform_floats(d.stride_b, 5);
  std::vector<float> c1(d.stride_c, 0), c2(d.stride_c, 1);
  v3_on(signet::cpu::detect_simd_path(), 2)(d, a.data(), b.data(), c1.data());
  v3_on(signet::cpu::detect_simd_path(), 2)(d, a.data(), b.data(), c2.data());
  for (int64_t i = 0; i < d.m; ++i)
    for (int64_t j = 0; j < d.n; ++j) ASSERT_EQ(c1[i * d.ldc + j], c2[i * d.ldc + j]);
}

// m past v4's MC (960 rows on AVX-512 and AVX2, 512 portable) in both splits: one thread
// (sharing B) and two (n > 2 m: own columns, whose loops put MC blocks outside NC blocks).
TEST(GemmCpu, V4RowsPastMcMatchReference) {
  for (SimdPath path : signet::cpu::supported_simd_paths()) {
    SCOPED_TRACE(signet::cpu::simd_path_name(path));
    for (int t : {0, 3}) {
      expect_matches_reference(v4_on(path, 1), desc(1000, 20, 40, t & 1, t & 2, 1, 0.5));
      expect_matches_reference(v4_on(path, 2), desc(970, 1990, 8, t & 1, t & 2, 1, 0));
    }
  }
}

// Each C element's sum runs in the same order whatever the split, so v4 on 2 and 3 threads
// (sharing B in 24-row chunks for m = 300 and 96- or 48-row chunks, the last one cut, for
// m = 1201; own columns over two k spans for m = 40) equals v4 on 1 thread bit for bit.
TEST(GemmCpu, V4AnyThreadCountIsBitwiseEqualToOneThread) {
  for (int64_t m : {300, 1201, 40}) {
    const GemmDesc d = desc(m, 260, 1100, false, true, 1.0, 0.0);
    const std::vector<float> a = uniform_floats(d.stride_a, 4), b = uniform_floats(d.stride_b, 5);
    std::vector<float> want(d.stride_c, 0);
    v4_on(signet::cpu::detect_simd_path(), 1)(d, a.data(), b.data(), want.data());
    for (int threads = 2; threads <= 3; ++threads) {
      std::vector<float> c(d.stride_c, 1);
      v4_on(signet::cpu::detect_simd_path(), threads)(d, a.data(), b.data(), c.data());
      for (int64_t i = 0; i < d.m; ++i)
        for (int64_t j = 0; j < d.n; ++j)
          ASSERT_EQ(c[i * d.ldc + j], want[i * d.ldc + j]) << "m " << m << ", " << threads;
    }
  }
}

// v4 with its split forced, run on a 64-byte aligned copy of C (copied back after), expecting
// it to stream C exactly when `path` is AVX-512.
Kernel v4_on_aligned_c(SimdPath path, int threads, signet::cpu::V4Split split) {
  return [=](const GemmDesc& d, const float* a, const float* b, float* c) {
    const size_t n = d.batch * d.stride_c;
    std::vector<float> storage(n + 16);
    float* aligned =
        storage.data() + (16 - reinterpret_cast<uintptr_t>(storage.data()) % 64 / 4) % 16;
    std::copy(c, c + n, aligned);
    EXPECT_EQ(signet::cpu::sgemm_v4_streams_c(d, aligned, path), path == SimdPath::avx512);
    v4_split_on(path, threads, split)(d, a, b, aligned);
    std::copy(aligned, aligned + n, c);
  };
}

// A large C that beta 0 and k <= KC make write-only goes past the caches (streaming stores) on
// AVX-512, whole tiles only: on 1-3 threads and both splits, with edge slivers of rows and
// columns and padded rows (ldc 1040), each must match the reference, padding untouched. The
// rule itself: not for beta != 0, k > KC, a misaligned C or ldc, a small C.
TEST(GemmCpu, V4StreamsALargeWriteOnlyCAndMatchesReference) {
  using signet::cpu::V4Split;
  for (bool tb : {false, true}) {
    GemmDesc d = desc(1030, 1030, 37, false, tb, 1.5, 0.0);
    d.ldc = 1040, d.stride_c = d.m * d.ldc;
    for (SimdPath path : signet::cpu::supported_simd_paths())
      for (int threads = 1; threads <= 3; ++threads)
        for (V4Split split : {V4Split::shared_b, V4Split::own_columns}) {
          SCOPED_TRACE(std::string(signet::cpu::simd_path_name(path)) + " tb " +
                       std::to_string(tb) + " threads " + std::to_string(threads) + " split " +
                       std::to_string(static_cast<int>(split)));
          expect_matches_reference(v4_on_aligned_c(path, threads, split), d);
        }
    alignas(64) static const float kAligned[16] = {};
    const SimdPath wide = SimdPath::avx512;
    if (signet::cpu::simd_path_supported(wide)) {
      EXPECT_TRUE(signet::cpu::sgemm_v4_streams_c(d, kAligned, wide));
    }
    GemmDesc other = d;
    other.beta = 0.5;
    EXPECT_FALSE(signet::cpu::sgemm_v4_streams_c(other, kAligned, wide));
    other = d, other.k = 300;
    EXPECT_FALSE(signet::cpu::sgemm_v4_streams_c(other, kAligned, wide));
    other = d, other.ldc = 1036;
    EXPECT_FALSE(signet::cpu::sgemm_v4_streams_c(other, kAligned, wide));
    other = d, other.m = 1000;
    EXPECT_FALSE(signet::cpu::sgemm_v4_streams_c(other, kAligned, wide));
    EXPECT_FALSE(signet::cpu::sgemm_v4_streams_c(d, kAligned + 4, wide));
  }
}

// v4 with its split by rule and the stores of its shared B blocks forced.
Kernel v4_stores_on(SimdPath path, int threads, signet::cpu::BStores stores) {
  return [=](const GemmDesc& d, const float* a, const float* b, float* c) {
    std::vector<unsigned char> ws(signet::cpu::sgemm_v4_workspace_bytes(d, threads));
    signet::cpu::sgemm_v4_shared(d, a, b, c, ws.data(), threads, path,
                                 signet::cpu::V4Split::by_rule, stores);
  };
}

// Runs `want_from` once and `kernel` `calls` times on the same random A, B and starting C of d,
// expecting every call of `kernel` to leave C equal to want_from's bit for bit.
void expect_bitwise_equal(const GemmDesc& d, const Kernel& want_from, const Kernel& kernel,
                          int calls) {
  const std::vector<float> a = uniform_floats(d.batch * d.stride_a, 4);
  const std::vector<float> b = uniform_floats(d.batch * d.stride_b, 5);
  const std::vector<float> c0 = uniform_floats(d.batch * d.stride_c, 6);
  std::vector<float> want = c0;
  want_from(d, a.data(), b.data(), want.data());
  for (int call = 0; call < calls; ++call) {
    std::vector<float> c = c0;
    kernel(d, a.data(), b.data(), c.data());
    ASSERT_EQ(c, want) << "call " << call;
  }
}

// Streaming or chosen stores for the shared B blocks (whole 128-column pieces, a last piece of
// one whole sliver and 12 columns, k over three KC blocks with a tail not a multiple of 16, B
// rows padded so that its loads are unaligned) give C equal bit for bit to ordinary stores on
// one thread, on 1-3 threads, every transpose, every path; the ordinary one matches the
// reference. On AVX-512 with 2 threads, automatic has timed both kinds of store.
TEST(GemmCpu, V4StreamedAndChosenBStoresEqualCachedBitForBit) {
  using signet::cpu::BStores;
  for (SimdPath path : signet::cpu::supported_simd_paths())
    for (int t = 0; t < 4; ++t) {
      const GemmDesc d = desc(301, 300, 530, t & 1, t & 2, 1.5, 0.5, 2);
      SCOPED_TRACE(std::string(signet::cpu::simd_path_name(path)) + " transposes " +
                   std::to_string(t));
      expect_matches_reference(v4_stores_on(path, 1, BStores::cached), d);
      for (int threads = 1; threads <= 3; ++threads)
        for (BStores stores : {BStores::streamed, BStores::automatic}) {
          SCOPED_TRACE(std::to_string(threads) + " threads, stores " +
                       std::to_string(static_cast<int>(stores)));
          expect_bitwise_equal(d, v4_stores_on(path, 1, BStores::cached),
                               v4_stores_on(path, threads, stores), 1);
        }
    }
  if (signet::cpu::simd_path_supported(SimdPath::avx512)) {
    const auto& chooser = signet::cpu::gemm_detail::b_store_chooser();
    EXPECT_GT(chooser.cost(false), 0.0f);
    EXPECT_GT(chooser.cost(true), 0.0f);
  }
}

// The chooser measures each kind of store once, then picks the cheaper one except on one try in
// kExploreEvery; a host change (streaming now 8x dearer) flips it within a few dozen pieces, and
// one outlier moves a running cost by at most an eighth.
TEST(GemmCpu, BStoreChooserPicksTheCheaperAndFollowsAChange) {
  signet::cpu::gemm_detail::BStoreChooser chooser;
  EXPECT_FALSE(chooser.pick_streamed());
  chooser.record(false, 100);
  EXPECT_TRUE(chooser.pick_streamed());
  chooser.record(true, 50);
  const int tries = 4 * signet::cpu::gemm_detail::BStoreChooser::kExploreEvery;
  int streamed = 0;
  for (int i = 0; i < tries; ++i) streamed += chooser.pick_streamed();
  EXPECT_EQ(streamed, tries - 4);
  chooser.record(true, 1e9);
  EXPECT_FLOAT_EQ(chooser.cost(true), 50 + 50 / 8.0f);
  int records = 0;
  while (chooser.cost(true) <= chooser.cost(false) && records < 1000) {
    chooser.record(true, 400);
    ++records;
  }
  EXPECT_LT(records, 30);
  streamed = 0;
  for (int i = 0; i < tries; ++i) streamed += chooser.pick_streamed();
  EXPECT_EQ(streamed, 4);
}

// v4's threads claim work without barriers; only its waits keep a B buffer from being repacked
// while read and a tile's sum from being continued before its last block is done. Three
// threads on fewer cores are preempted mid-claim, so the others run ahead across many blocks
// (8 batch items x 9 KC blocks, or x 3 k spans for own columns; a few ms a call): each of 20
// calls must equal one thread bit for bit, in both splits.
TEST(GemmCpu, V4ClaimsWaitForTheirBlocksWhenAThreadFallsBehind) {
  const GemmDesc d = desc(100, 300, 2300, false, false, 1.0, 0.5, 8);
  const SimdPath path = signet::cpu::detect_simd_path();
  using signet::cpu::V4Split;
  for (V4Split split : {V4Split::shared_b, V4Split::own_columns}) {
    SCOPED_TRACE("split " + std::to_string(static_cast<int>(split)));
    expect_bitwise_equal(d, v4_split_on(path, 1, split), v4_split_on(path, 3, split), 20);
  }
}

// shared_b's threads take each block's row chunks from both ends (the first half of them from the
// top, the rest from the bottom) until the ends meet. With 1, 2, 3 and 4 chunks (24 rows each:
// the fewest, as m this short gets) and 2-3 threads racing for them in each of 5 KC blocks x 2
// batch items, every chunk must be summed exactly once per block: each of 10 calls equals one
// thread bit for bit.
TEST(GemmCpu, V4ChunksClaimedFromBothEndsMeetOnce) {
  using signet::cpu::V4Split;
  const SimdPath path = signet::cpu::detect_simd_path();
  const int64_t chunk = 24;
  for (int64_t m : {chunk, chunk + 1, 3 * chunk - 5, 4 * chunk}) {
    const GemmDesc d = desc(m, 300, 1100, false, false, 1.0, 0.5, 2);
    for (int threads = 2; threads <= 3; ++threads) {
      ASSERT_EQ(signet::cpu::sgemm_v4_chunk_rows(d, threads), chunk);
      SCOPED_TRACE("m " + std::to_string(m) + ", threads " + std::to_string(threads));
      expect_bitwise_equal(d, v4_split_on(path, 1, V4Split::shared_b),
                           v4_split_on(path, threads, V4Split::shared_b), 10);
    }
  }
}

// matmul of a (2, 33, 70) batch by a (70, 45) matrix, compared with ref::gemm in float64.
void expect_matmul_matches_reference() {
  const std::vector<float> a = uniform_floats(2 * 33 * 70, 6), b = uniform_floats(70 * 45, 7);
  signet::Tensor c =
      signet::matmul(signet::from_vector(a, {2, 33, 70}), signet::from_vector(b, {70, 45}));
  GemmDesc d;
  d.m = 66, d.n = 45, d.k = 70, d.lda = 70, d.ldb = 45, d.ldc = 45;
  std::vector<float> want(66 * 45);
  signet::ref::gemm<float>(d, a.data(), b.data(), want.data());
  const std::vector<float> got = c.to_vector<float>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4) << i;
}

// In a fresh process (a death test): forces `impl` (when non-empty), profiles one matmul and
// exits, so the profile table printed at exit names the implementation that ran.
void run_matmul_profiled(const char* impl) {
  setenv("SIGNET_PROFILE", "1", 1);
  if (*impl) setenv("SIGNET_IMPL_matmul", impl, 1);
  expect_matmul_matches_reference();
  std::exit(::testing::Test::HasFailure() ? 1 : 0);
}

// In a fresh process: profiles one batched matmul of three small (5 x 7 by 7 x 4) items.
void run_small_batched_matmul_profiled() {
  setenv("SIGNET_PROFILE", "1", 1);
  signet::matmul(signet::from_vector(uniform_floats(3 * 5 * 7, 8), {3, 5, 7}),
                 signet::from_vector(uniform_floats(3 * 7 * 4, 9), {3, 7, 4}));
  std::exit(0);
}

TEST(GemmCpuDispatch, DefaultF32RunsV4Shared) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_matmul_profiled(""), ::testing::ExitedWithCode(0),
              "SIGNET_PROFILE: matmul +v4_shared");
}

TEST(GemmCpuDispatch, SmallBatchedItemsRunV3Packed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_small_batched_matmul_profiled(), ::testing::ExitedWithCode(0),
              "SIGNET_PROFILE: matmul +v3_packed");
}

// In a fresh process: profiles one linear-layer product x W^T of 32 rows (the LSTM step's
// shape, smaller), checked against ref::gemm.
void run_short_linear_profiled() {
  setenv("SIGNET_PROFILE", "1", 1);
  const std::vector<float> x = uniform_floats(32 * 130, 10), w = uniform_floats(90 * 130, 11);
  const std::vector<float> got =
      signet::matmul(signet::from_vector(x, {32, 130}), signet::from_vector(w, {90, 130}).t())
          .to_vector<float>();
  GemmDesc d = signet::kernels::row_major_gemm(32, 90, 130, false, true, 0.0);
  std::vector<float> want(32 * 90);
  signet::ref::gemm<float>(d, x.data(), w.data(), want.data());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4) << i;
  std::exit(::testing::Test::HasFailure() ? 1 : 0);
}

TEST(GemmCpuDispatch, ShortRowsByTransposedBRunV5OnAvx512) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const bool avx512 = signet::cpu::active_simd_path() == SimdPath::avx512;
  EXPECT_EXIT(run_short_linear_profiled(), ::testing::ExitedWithCode(0),
              avx512 ? "SIGNET_PROFILE: matmul +v5_direct_b" : "SIGNET_PROFILE: matmul +v4_shared");
}

// v5's rule at its edges: AVX-512 only, one product, B transposed, m <= 64, k >= 128.
TEST(GemmCpuDispatch, V5RuleEdges) {
  using signet::kernels::row_major_gemm;
  GemmDesc batched = row_major_gemm(32, 4096, 1024, false, true, 0);
  batched.batch = 2;
  EXPECT_FALSE(signet::cpu::sgemm_v5_suits(batched, SimdPath::avx512));
  EXPECT_TRUE(
      signet::cpu::sgemm_v5_suits(row_major_gemm(64, 4096, 128, true, true, 0), SimdPath::avx512));
  EXPECT_FALSE(signet::cpu::sgemm_v5_suits(row_major_gemm(65, 4096, 1024, false, true, 0),
                                           SimdPath::avx512));
  EXPECT_FALSE(
      signet::cpu::sgemm_v5_suits(row_major_gemm(32, 4096, 127, false, true, 0), SimdPath::avx512));
  EXPECT_FALSE(signet::cpu::sgemm_v5_suits(row_major_gemm(32, 4096, 1024, false, false, 0),
                                           SimdPath::avx512));
  EXPECT_FALSE(
      signet::cpu::sgemm_v5_suits(row_major_gemm(32, 4096, 1024, false, true, 0), SimdPath::avx2));
}

TEST(GemmCpuDispatch, ForcedVersionIsTheOneThatRuns) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* impl : {"v5_direct_b", "v4_shared", "v3_packed", "v2_blocked", "v1_reference"})
    EXPECT_EXIT(run_matmul_profiled(impl), ::testing::ExitedWithCode(0),
                std::string("SIGNET_PROFILE: matmul +") + impl);
}

TEST(GemmCpuDispatch, MatmulValuesMatchReference) {
  expect_matmul_matches_reference();
}

}  // namespace
