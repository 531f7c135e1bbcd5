// Convolution versions behind kernels/cpu/conv_select.h: every version against the reference on
// odd shapes for each pass it fits (2-D and 3-D), the shapes each version refuses, and the
// selection rule (the version it claims, and that it never picks one that does not fit); that
// v3's results do not depend on which thread claimed which work (and that a one-thread team runs
// every share) and that its slabs split the rows evenly; and the prefetch feed of the direct
// versions' slabs (kernels/cpu/conv_slab.h): the lines it hands out are those of the input the
// slab fill reads.
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/conv_select.h"
#include "kernels/cpu/conv_slab.h"
#include "kernels/reference/conv.h"
#include "tests/support/conv_shapes.h"
#include "tests/support/fixtures.h"

namespace {

using signet::Shape;
using signet::cpu::ConvPass;
using signet::cpu::ConvVersion;
using signet::kernels::ConvDesc;
using signet::testing::conv_desc;
using signet::testing::conv_name;
using signet::testing::expect_close_relative;
using signet::testing::uniform_floats;

// Odd shapes: no size a multiple of the 14-wide, 16- or 32-filter tiles; widths below, at and
// above one tile; filters 1, 17, 33 and 40; C = 1 and 3; batch 1; padding 0 and 2; dilation 2;
// stride 2 and groups (which v3 refuses); 3-D; 101 output rows (v3's backward-weights takes
// them in 3 chunks of dy, its backward-data in even slabs of 51 and 50 rows); 40 channels of 62
// padded columns (v3's forward takes them in blocks of 13, 13 and 14 per row; the slab fill's
// 16-column chunks are partly input at both edges, wholly input inside), the same with 57 output
// rows (forward slabs of 29 and 28); 33 and 32 channels in rows of one 13- and 14-wide tile (v3's
// forward takes every channel in one pass, as on case B's 14x14; 14 columns padded to 16 fill one
// masked chunk a row); 64 x 130 x 9 weights (v3 packs more than 64k weights on every thread).
std::vector<ConvDesc> odd_cases() {
  return {
      conv_desc(1, 1, 17, 1, {13, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      conv_desc(2, 3, 33, 1, {9, 29}, {3, 3}, {1, 1}, {0, 0}, {1, 1}),
      conv_desc(2, 5, 40, 1, {15, 14}, {3, 2}, {1, 1}, {2, 1}, {2, 2}),
      conv_desc(1, 19, 7, 1, {6, 31}, {3, 3}, {1, 1}, {2, 2}, {1, 1}),
      conv_desc(2, 16, 20, 1, {17, 15}, {5, 3}, {1, 1}, {2, 1}, {1, 1}),
      conv_desc(3, 8, 1, 1, {5, 3}, {1, 1}, {1, 1}, {0, 0}, {1, 1}),
      conv_desc(2, 6, 18, 1, {11, 13}, {3, 3}, {2, 2}, {1, 1}, {1, 1}),
      conv_desc(2, 8, 12, 2, {11, 13}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      conv_desc(2, 3, 21, 1, {5, 7, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
      conv_desc(1, 4, 35, 1, {6, 7, 9}, {2, 3, 2}, {1, 1, 1}, {0, 2, 1}, {2, 2, 1}),
      conv_desc(1, 2, 40, 1, {101, 31}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      conv_desc(1, 40, 20, 1, {30, 60}, {3, 3}, {1, 1}, {2, 1}, {2, 1}),
      conv_desc(2, 33, 18, 1, {5, 13}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      conv_desc(1, 40, 3, 1, {57, 60}, {3, 3}, {1, 1}, {2, 1}, {2, 1}),
      conv_desc(2, 32, 20, 1, {5, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      conv_desc(1, 64, 130, 1, {6, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
  };
}

// Runs pass of version v and the reference on the same random bytes; workspace and outputs
// start as NaN so that every element must be written.
void expect_matches_reference(ConvVersion v, const ConvDesc& d, ConvPass pass, int threads) {
  const int64_t cg = d.c / d.groups, taps = signet::kernels::conv_kernel_volume(d);
  const size_t nx = d.n * d.c * signet::kernels::conv_in_volume(d);
  const size_t ny = d.n * d.k * signet::kernels::conv_out_volume(d);
  const size_t nw = d.k * cg * taps;
  const std::vector<float> x = uniform_floats(nx, 1), w = uniform_floats(nw, 2),
                           b = uniform_floats(d.k, 3), dy = uniform_floats(ny, 4);
  const float nan = std::nanf("");
  std::vector<float> ws(signet::cpu::conv_version_workspace_bytes(v, d, pass, threads) / 4 + 1,
                        nan);
  const auto path = signet::cpu::active_simd_path();
  if (pass == ConvPass::forward) {
    std::vector<float> y(ny, nan), y_ref(ny);
    signet::cpu::conv_run_forward(v, d, x.data(), w.data(), b.data(), y.data(), ws.data(), threads,
                                  path);
    signet::ref::conv_forward<float>(d, x.data(), w.data(), b.data(), y_ref.data());
    expect_close_relative(y, y_ref, 2e-6 * static_cast<double>(cg * taps + d.k), "forward");
  } else if (pass == ConvPass::backward_data) {
    std::vector<float> dx(nx, nan), dx_ref(nx);
    signet::cpu::conv_run_backward_data(v, d, dy.data(), w.data(), dx.data(), ws.data(), threads,
                                        path);
    signet::ref::conv_backward_data<float>(d, dy.data(), w.data(), dx_ref.data());
    expect_close_relative(dx, dx_ref, 2e-6 * static_cast<double>(d.k * taps + d.c),
                          "backward data");
  } else {
    std::vector<float> dw(nw, nan), dw_ref(nw), db(d.k, nan), db_ref(d.k);
    signet::cpu::conv_run_backward_weights(v, d, x.data(), dy.data(), dw.data(), db.data(),
                                           ws.data(), threads, path);
    signet::ref::conv_backward_weights<float>(d, x.data(), dy.data(), dw_ref.data(), db_ref.data());
    const double tol = 2e-6 * static_cast<double>(d.n * signet::kernels::conv_out_volume(d));
    expect_close_relative(dw, dw_ref, tol, "backward weights");
    expect_close_relative(db, db_ref, tol, "bias gradient");
  }
}

const ConvPass kPasses[] = {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_weights};

// Runs every fitting (case, pass) of version v on each thread count; returns how many ran.
int check_version(ConvVersion v, std::initializer_list<int> thread_counts = {1, 2, 3}) {
  int ran = 0;
  for (const ConvDesc& d : odd_cases())
    for (ConvPass pass : kPasses) {
      if (!signet::cpu::conv_version_fits(v, d, pass)) continue;
      SCOPED_TRACE(conv_name(d) + " pass " + std::to_string(static_cast<int>(pass)));
      for (int threads : thread_counts) expect_matches_reference(v, d, pass, threads);
      ++ran;
    }
  return ran;
}

bool avx512() {
  return signet::cpu::active_simd_path() == signet::cpu::SimdPath::avx512;
}

TEST(ConvVersions, V3DirectMatchesReferenceOnOddShapes) {
  if (!avx512()) GTEST_SKIP() << "v3_direct needs AVX-512";
  // The 14 stride-1, groups-1 cases, each in all three passes.
  EXPECT_EQ(check_version(ConvVersion::v3_direct), 42);
}

TEST(ConvVersions, V4SmallCMatchesReferenceOnOddShapes) {
  if (!avx512()) GTEST_SKIP() << "v4_small_c needs AVX-512";
  // The 14 stride-1, groups-1 cases, forward only: widths below, at and above the 16-lane
  // vectors and the 96-position chunk, 1 to 40 channels, 1 to 40 filters (tails of the 4-filter
  // blocks), rows that end inside a vector.
  EXPECT_EQ(check_version(ConvVersion::v4_small_c), 14);
  // Slabs of one output row (a wide first layer) and of several rows with 3-D depth padding.
  for (const ConvDesc& d :
       {conv_desc(1, 3, 5, 1, {3, 4000}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
        conv_desc(1, 1, 5, 1, {40, 2}, {1, 2}, {1, 1}, {0, 1}, {1, 1}),
        conv_desc(2, 2, 6, 1, {3, 17, 23}, {3, 3, 3}, {1, 1, 1}, {2, 1, 0}, {1, 2, 1})})
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(conv_name(d));
      expect_matches_reference(ConvVersion::v4_small_c, d, ConvPass::forward, threads);
    }
}

TEST(ConvVersions, V4SmallCStreamsOutputsAbove64MiB) {
  if (!avx512()) GTEST_SKIP() << "v4_small_c needs AVX-512";
  // 4 x 2100 x 2100 floats = 70.6 MB: streaming stores where a row's vector is 64-byte aligned,
  // ordinary ones where not (rows of 8400 bytes).
  expect_matches_reference(ConvVersion::v4_small_c,
                           conv_desc(1, 1, 4, 1, {2100, 2100}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
                           ConvPass::forward, 2);
}

TEST(ConvVersions, V3DirectIsBitwiseRepeatableForAThreadCount) {
  if (!avx512()) GTEST_SKIP() << "v3_direct needs AVX-512";
  const ConvDesc d = odd_cases()[4];
  const size_t nx = d.n * d.c * signet::kernels::conv_in_volume(d);
  const size_t ny = d.n * d.k * signet::kernels::conv_out_volume(d);
  const size_t nw = d.k * d.c * signet::kernels::conv_kernel_volume(d);
  const std::vector<float> x = uniform_floats(nx, 5), w = uniform_floats(nw, 6),
                           dy = uniform_floats(ny, 7);
  std::vector<float> ws(
      signet::cpu::conv_version_workspace_bytes(ConvVersion::v3_direct, d, ConvPass::forward, 3) +
      signet::cpu::conv_version_workspace_bytes(ConvVersion::v3_direct, d,
                                                ConvPass::backward_weights, 3));
  const auto path = signet::cpu::active_simd_path();
  std::vector<float> runs[2][4];
  for (auto& r : runs) {
    r[0].resize(ny), r[1].resize(nx), r[2].resize(nw), r[3].resize(d.k);
    signet::cpu::conv_run_forward(ConvVersion::v3_direct, d, x.data(), w.data(), nullptr,
                                  r[0].data(), ws.data(), 3, path);
    signet::cpu::conv_run_backward_data(ConvVersion::v3_direct, d, dy.data(), w.data(), r[1].data(),
                                        ws.data(), 3, path);
    signet::cpu::conv_run_backward_weights(ConvVersion::v3_direct, d, x.data(), dy.data(),
                                           r[2].data(), r[3].data(), ws.data(), 3, path);
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(runs[0][i], runs[1][i]) << i;
}

TEST(ConvVersions, V3DirectIsBitwiseEqualOnEveryThreadCountForwardAndData) {
  if (!avx512()) GTEST_SKIP() << "v3_direct needs AVX-512";
  // The threads claim the forward's items (image, row block, filter pair) as they go: 45 images
  // of two filter pairs (90 items; chunks that end inside an image) and 3 images of two row
  // blocks of 56 rows; each output must not depend on which thread computed it, or when.
  for (const ConvDesc& d : {conv_desc(45, 3, 40, 1, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
                            conv_desc(3, 40, 20, 1, {56, 60}, {3, 3}, {1, 1}, {1, 1}, {1, 1})})
    for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data}) {
      SCOPED_TRACE(conv_name(d) + " pass " + std::to_string(static_cast<int>(pass)));
      expect_matches_reference(ConvVersion::v3_direct, d, pass, 3);
      const size_t nx = d.n * d.c * signet::kernels::conv_in_volume(d);
      const size_t ny = d.n * d.k * signet::kernels::conv_out_volume(d);
      const std::vector<float> in = uniform_floats(pass == ConvPass::forward ? nx : ny, 8),
                               w = uniform_floats(
                                   d.k * d.c * signet::kernels::conv_kernel_volume(d), 9),
                               b = uniform_floats(d.k, 10);
      std::vector<float> ws(
          signet::cpu::conv_version_workspace_bytes(ConvVersion::v3_direct, d, pass, 3) / 4 + 1);
      auto run = [&](int threads) {
        std::vector<float> out(pass == ConvPass::forward ? ny : nx);
        if (pass == ConvPass::forward)
          signet::cpu::conv_run_forward(ConvVersion::v3_direct, d, in.data(), w.data(), b.data(),
                                        out.data(), ws.data(), threads,
                                        signet::cpu::active_simd_path());
        else
          signet::cpu::conv_run_backward_data(ConvVersion::v3_direct, d, in.data(), w.data(),
                                              out.data(), ws.data(), threads,
                                              signet::cpu::active_simd_path());
        return out;
      };
      const std::vector<float> one = run(1);
      for (int threads : {2, 3, 2, 3}) EXPECT_EQ(run(threads), one) << threads << " threads";
    }
}

TEST(ConvVersions, V3DirectBackwardWeightsIsBitwiseRepeatableWithClaimedSlots) {
  if (!avx512()) GTEST_SKIP() << "v3_direct needs AVX-512";
  // 45 images of one chunk: 16 slots on 2 threads, 24 on 3, claimed as the threads go (chunks of
  // slots, the next claimed ahead); the sums must not depend on which thread ran which slot.
  const ConvDesc d = conv_desc(45, 3, 40, 1, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  const size_t nx = d.n * d.c * signet::kernels::conv_in_volume(d);
  const size_t ny = d.n * d.k * signet::kernels::conv_out_volume(d);
  const size_t nw = d.k * d.c * signet::kernels::conv_kernel_volume(d);
  const std::vector<float> x = uniform_floats(nx, 11), dy = uniform_floats(ny, 12);
  for (int threads : {2, 3}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    expect_matches_reference(ConvVersion::v3_direct, d, ConvPass::backward_weights, threads);
    std::vector<float> ws(signet::cpu::conv_version_workspace_bytes(
                              ConvVersion::v3_direct, d, ConvPass::backward_weights, threads) /
                              4 +
                          1);
    std::vector<float> runs[3][2];
    for (auto& r : runs) {
      r[0].resize(nw), r[1].resize(d.k);
      signet::cpu::conv_run_backward_weights(ConvVersion::v3_direct, d, x.data(), dy.data(),
                                             r[0].data(), r[1].data(), ws.data(), threads,
                                             signet::cpu::active_simd_path());
    }
    for (int i = 1; i < 3; ++i) {
      EXPECT_EQ(runs[i][0], runs[0][0]) << "dw, run " << i;
      EXPECT_EQ(runs[i][1], runs[0][1]) << "dbias, run " << i;
    }
  }
}

TEST(ConvVersions, V3DirectRunsEveryThreadsShareInANestedRegion) {
  if (!avx512()) GTEST_SKIP() << "v3_direct needs AVX-512";
  // Inside another parallel region the kernels' own region gets one thread, which must run the
  // shares of all the threads asked for: 5 items or slots on 3 threads (static shares) and 90
  // items (claimed).
  for (const ConvDesc& d : {conv_desc(5, 3, 20, 1, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
                            conv_desc(45, 3, 40, 1, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1})})
    for (ConvPass pass : kPasses) {
      SCOPED_TRACE(conv_name(d) + " pass " + std::to_string(static_cast<int>(pass)));
#pragma omp parallel num_threads(2)
      {
#pragma omp master
        expect_matches_reference(ConvVersion::v3_direct, d, pass, 3);
      }
    }
}

TEST(ConvVersions, V3DirectSplitsTheRowsEvenlyOverItsSlabs) {
  // The slabs take the output rows of a depth evenly, so an image of 2 or 3 slabs needs the
  // workspace of an image of one slab of its largest share: case C's 32 rows (28 fit a forward
  // slab: 16 + 16; 13 fit a backward-data slab: 11 + 11 + 10) and 57 rows in slabs of 29 + 28.
  // Split greedily, the first slab would hold 28 (C), 13 and 48 rows.
  auto bytes = [](const ConvDesc& d, ConvPass pass) {
    return signet::cpu::conv_version_workspace_bytes(ConvVersion::v3_direct, d, pass, 2);
  };
  const ConvDesc c32 = conv_desc(8, 128, 256, 1, {32, 32}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  const ConvDesc c16 = conv_desc(8, 128, 256, 1, {16, 32}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  const ConvDesc c11 = conv_desc(8, 128, 256, 1, {11, 32}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  EXPECT_EQ(bytes(c32, ConvPass::forward), bytes(c16, ConvPass::forward));
  EXPECT_EQ(bytes(c32, ConvPass::backward_data), bytes(c11, ConvPass::backward_data));
  EXPECT_EQ(
      bytes(conv_desc(1, 40, 3, 1, {57, 60}, {3, 3}, {1, 1}, {2, 1}, {2, 1}), ConvPass::forward),
      bytes(conv_desc(1, 40, 3, 1, {29, 60}, {3, 3}, {1, 1}, {2, 1}, {2, 1}), ConvPass::forward));
}

TEST(ConvVersions, V2Im2colMatchesReferenceThroughTheSelectionApi) {
  // On 2 threads only: test_conv.cpp runs v2 on 1, 2 and 3.
  EXPECT_GT(check_version(ConvVersion::v2_im2col, {2}), 20);
}

TEST(ConvVersions, V4SmallCRefusesWhatItCannotRun) {
  const std::vector<ConvDesc> c = odd_cases();
  EXPECT_FALSE(signet::cpu::conv_version_fits(ConvVersion::v4_small_c, c[6], ConvPass::forward))
      << "stride 2";
  EXPECT_FALSE(signet::cpu::conv_version_fits(ConvVersion::v4_small_c, c[7], ConvPass::forward))
      << "groups";
  for (ConvPass pass : {ConvPass::backward_data, ConvPass::backward_weights})
    EXPECT_FALSE(signet::cpu::conv_version_fits(ConvVersion::v4_small_c, c[0], pass))
        << "forward only";
}

TEST(ConvVersions, V3DirectRefusesWhatItCannotRun) {
  const std::vector<ConvDesc> c = odd_cases();
  for (ConvPass pass : kPasses) {
    EXPECT_FALSE(signet::cpu::conv_version_fits(ConvVersion::v3_direct, c[6], pass)) << "stride 2";
    EXPECT_FALSE(signet::cpu::conv_version_fits(ConvVersion::v3_direct, c[7], pass)) << "groups";
  }
  // Backward-data needs padding <= dilation * (kernel - 1): 2 > 1 * (1 - 1) here.
  const ConvDesc wide_pad = conv_desc(1, 4, 16, 1, {6, 7}, {1, 3}, {1, 1}, {2, 1}, {1, 1});
  EXPECT_FALSE(
      signet::cpu::conv_version_fits(ConvVersion::v3_direct, wide_pad, ConvPass::backward_data));
  EXPECT_EQ(signet::cpu::conv_version_fits(ConvVersion::v3_direct, wide_pad, ConvPass::forward),
            avx512());
}

TEST(ConvVersions, SelectionRulePicksWhatItClaims) {
  const std::vector<ConvDesc> c = odd_cases();
  const ConvVersion dense = avx512() ? ConvVersion::v3_direct : ConvVersion::v2_im2col;
  const ConvDesc wide = conv_desc(2, 16, 17, 1, {9, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  const ConvDesc wide3d =
      conv_desc(1, 16, 32, 1, {4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1});
  const ConvDesc pointwise = conv_desc(2, 16, 32, 1, {7, 9}, {1, 1}, {1, 1}, {0, 0}, {1, 1});
  const ConvDesc depthwise = conv_desc(2, 8, 8, 8, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  for (ConvPass pass : kPasses) {
    EXPECT_EQ(signet::cpu::conv_select(wide, pass), dense)
        << "3x3 stride 1, 16 channels in and out";
    EXPECT_EQ(signet::cpu::conv_select(wide3d, pass), dense) << "3x3x3 stride 1";
    EXPECT_EQ(signet::cpu::conv_select(c[6], pass), ConvVersion::v2_im2col) << "stride 2";
    EXPECT_EQ(signet::cpu::conv_select(c[7], pass), ConvVersion::v2_im2col) << "groups";
    EXPECT_EQ(signet::cpu::conv_select(pointwise, pass), ConvVersion::v2_im2col) << "1x1";
    EXPECT_EQ(signet::cpu::conv_select(depthwise, pass), ConvVersion::v1_reference);
  }
  // A first layer (C = 1, 17 filters): v4 forward, v3 backward-weights, v2 backward-data; C = 3
  // (c[1]) and 3-D (c[8]) forward: v4 too; fewer than 16 filters with 19 channels (c[3]: 7) keep
  // forward and backward-weights on v2.
  const ConvVersion small = avx512() ? ConvVersion::v4_small_c : ConvVersion::v2_im2col;
  EXPECT_EQ(signet::cpu::conv_select(c[0], ConvPass::forward), small);
  EXPECT_EQ(signet::cpu::conv_select(c[1], ConvPass::forward), small);
  EXPECT_EQ(signet::cpu::conv_select(c[8], ConvPass::forward), small);
  const ConvDesc pointwise3 = conv_desc(2, 3, 8, 1, {7, 9}, {1, 1}, {1, 1}, {0, 0}, {1, 1});
  EXPECT_EQ(signet::cpu::conv_select(pointwise3, ConvPass::forward), ConvVersion::v2_im2col)
      << "1x1 with 3 channels";
  EXPECT_EQ(signet::cpu::conv_select(wide, ConvPass::forward), dense) << "16 channels: v3";
  EXPECT_EQ(signet::cpu::conv_select(c[0], ConvPass::backward_weights), dense);
  EXPECT_EQ(signet::cpu::conv_select(c[0], ConvPass::backward_data), ConvVersion::v2_im2col);
  EXPECT_EQ(signet::cpu::conv_select(c[3], ConvPass::forward), ConvVersion::v2_im2col);
  EXPECT_EQ(signet::cpu::conv_select(c[3], ConvPass::backward_data), dense) << "19 channels";
}

TEST(ConvVersions, SelectionRulePicksAVersionThatFits) {
  for (const ConvDesc& d : odd_cases())
    for (ConvPass pass : kPasses) {
      const ConvVersion v = signet::cpu::conv_select(d, pass);
      EXPECT_TRUE(signet::cpu::conv_version_fits(v, d, pass)) << conv_name(d);
    }
}

// Every line a feed hands out, in handing-out order (a few at a time, as the kernels take them).
std::vector<uintptr_t> feed_lines(signet::cpu::LineFeed feed) {
  std::vector<uintptr_t> lines;
  for (;;) {
    const char *begin, *end;
    feed.take(3, &begin, &end);
    if (begin == end) return lines;
    for (const char* at = begin; at < end; at += 64)
      lines.push_back(reinterpret_cast<uintptr_t>(at));
  }
}

// A feed of strided ranges (unaligned, of 1 to a few lines; back-to-back ones merged into one)
// hands out every line of every range and no other, at most len / 64 + 2 lines a range.
TEST(ConvSlab, LineFeedHandsOutTheLinesOfItsRanges) {
  std::vector<char> buf(8192);
  const char* base = buf.data() + 5;
  for (const auto& r : std::vector<std::vector<int64_t>>{
           {3, 1000, 2, 300, 100}, {4, 130, 1, 0, 130}, {2, 700, 3, 200, 1}}) {
    std::set<uintptr_t> want;
    for (int64_t o = 0; o < r[0]; ++o)
      for (int64_t i = 0; i < r[2]; ++i)
        for (int64_t b = 0; b < r[4]; ++b)
          want.insert(reinterpret_cast<uintptr_t>(base + o * r[1] + i * r[3] + b) & ~uintptr_t{63});
    const std::vector<uintptr_t> got =
        feed_lines(signet::cpu::LineFeed(base, r[0], r[1], r[2], r[3], r[4]));
    EXPECT_EQ(std::set<uintptr_t>(got.begin(), got.end()), want) << r[0] << " x " << r[2];
    EXPECT_LE(got.size(), static_cast<size_t>(r[0] * r[2] * (r[4] / 64 + 2)));
  }
  EXPECT_TRUE(feed_lines(signet::cpu::LineFeed(base, 3, 64, 2, 0, 0)).empty()) << "len 0";
}

// conv_slab_source's lines are exactly those holding the input values fill_conv_slab copies into
// the slab (x holds its own index + 1, so the slab tells which values were read), for 3-D and
// 2-D slabs at the edges and inside, with padding.
TEST(ConvSlab, SlabSourceHandsOutTheLinesTheFillReads) {
  for (const ConvDesc& d :
       {conv_desc(3, 1, 3, 16, 1, {5, 7, 9}, {3, 3, 3}, {1, 1, 1}, {1, 2, 1}, {1, 1, 1}),
        conv_desc(2, 4, 16, 1, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1})}) {
    const int64_t dspan = d.kernel[0], pw = d.in[2] + 2 * d.pad[2];
    std::vector<float> x(d.c * signet::kernels::conv_in_volume(d));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i + 1);
    for (const auto& [od, oh0, rows] : std::vector<std::array<int64_t, 3>>{
             {0, 0, 4}, {d.out[0] - 1, 2, 5}, {d.out[0] / 2, d.out[1] - 3, 3}}) {
      const int64_t sh = rows + d.kernel[1] - 1;
      const signet::cpu::SlabShape s{dspan, sh, pw, dspan * sh * pw};
      std::vector<float> slab(d.c * s.plane + 16);
      signet::cpu::fill_conv_slab(d, s, x.data(), od, oh0, sh, slab.data(),
                                  static_cast<int64_t>(slab.size()));
      std::set<uintptr_t> want;
      for (float v : slab)
        if (v != 0.0f)
          want.insert(reinterpret_cast<uintptr_t>(&x[static_cast<size_t>(v) - 1]) & ~uintptr_t{63});
      ASSERT_FALSE(want.empty());
      const std::vector<uintptr_t> got =
          feed_lines(signet::cpu::conv_slab_source(d, s, x.data(), od, oh0, sh));
      EXPECT_EQ(std::set<uintptr_t>(got.begin(), got.end()), want)
          << conv_name(d) << " od " << od << " oh0 " << oh0;
    }
  }
}

}  // namespace
