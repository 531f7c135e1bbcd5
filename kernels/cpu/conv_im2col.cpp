// v2 convolution: column tiles of the unfolded input in per-thread workspace slices, each fed to
// the packed SGEMM. Work is split by static contiguous ranges, so results do not depend on timing.
#include "kernels/cpu/conv_im2col.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/workspace.h"

namespace signet::cpu {
namespace {

using kernels::ConvDesc;
using kernels::GemmDesc;

// Target bytes of one column tile (fits beside the SGEMM's panels in L2).
constexpr int64_t kColTileBytes = int64_t{256} << 10;
// Fewest output positions per tile, so a deep filter still gives the GEMM a useful width.
constexpr int64_t kMinTileCols = 64;

// x rounded up to a multiple of q.
int64_t round_up(int64_t x, int64_t q) {
  return (x + q - 1) / q * q;
}

// The GEMM view of d and the column tiling shared by the three passes.
struct Plan {
  int64_t cg = 0, kg = 0;     // channels and filters per group
  int64_t rows = 0;           // cg * taps: the unfolded input's rows
  int64_t in_vol = 0, p = 0;  // input plane size, output positions
  int64_t cols = 0;           // output positions per tile
  int64_t tiles = 0;
  bool pointwise = false;
  size_t col_bytes = 0;    // one column tile (0 when pointwise), a multiple of 64
  size_t gemm1_bytes = 0;  // SGEMM panels of one tile on one thread
  size_t gemmt_bytes = 0;  // SGEMM panels of one tile on all threads
  size_t slice_bytes = 0;  // one thread's part of the workspace, a multiple of 64
};

// The three tile GEMMs: forward (kg x cols x rows), data (rows x cols x kg), weights
// (kg x rows x cols).
void tile_gemms(const Plan& pl, GemmDesc g[3]) {
  g[0].m = pl.kg, g[0].n = pl.cols, g[0].k = pl.rows;
  g[1].m = pl.rows, g[1].n = pl.cols, g[1].k = pl.kg;
  g[2].m = pl.kg, g[2].n = pl.rows, g[2].k = pl.cols;
}

// Tiles the output positions so one tile holds about kColTileBytes of unfolded input.
Plan make_plan(const ConvDesc& d, int threads) {
  Plan pl;
  pl.cg = d.c / d.groups;
  pl.kg = d.k / d.groups;
  pl.rows = pl.cg * conv_kernel_volume(d);
  pl.in_vol = conv_in_volume(d);
  pl.p = conv_out_volume(d);
  pl.pointwise = conv_is_pointwise(d);
  const int64_t fit =
      kColTileBytes / static_cast<int64_t>(sizeof(float)) / std::max<int64_t>(pl.rows, 1);
  pl.cols = std::min(pl.p, std::max(kMinTileCols, fit / 16 * 16));
  pl.cols = std::max<int64_t>(pl.cols, 1);
  pl.tiles = (pl.p + pl.cols - 1) / pl.cols;
  pl.col_bytes = pl.pointwise ? 0 : static_cast<size_t>(round_up(pl.rows * pl.cols * 4, 64));
  GemmDesc g[3];
  tile_gemms(pl, g);
  for (const GemmDesc& gd : g) {
    pl.gemm1_bytes = std::max(pl.gemm1_bytes, sgemm_workspace_bytes(gd, 1));
    pl.gemmt_bytes = std::max(pl.gemmt_bytes, sgemm_workspace_bytes(gd, threads));
  }
  pl.slice_bytes = pl.col_bytes + static_cast<size_t>(round_up(pl.gemm1_bytes, 64));
  return pl;
}

// Calls fn(row, channel, input plane offset or -1, column) over rows [r0, r1) and output
// positions [p0, p0 + nc) of the unfolded input; -1 marks a tap in the padding.
template <class Fn>
void walk_columns(const ConvDesc& d, int64_t r0, int64_t r1, int64_t p0, int64_t nc, Fn fn) {
  const int64_t taps = conv_kernel_volume(d), khw = d.kernel[1] * d.kernel[2];
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / taps, t = r % taps;
    const int64_t kd = t / khw, kh = t / d.kernel[2] % d.kernel[1], kw = t % d.kernel[2];
    int64_t od = p0 / (d.out[1] * d.out[2]), oh = p0 / d.out[2] % d.out[1], ow = p0 % d.out[2];
    for (int64_t j = 0; j < nc;) {
      const int64_t run = std::min(nc - j, d.out[2] - ow);
      const int64_t id = od * d.stride[0] - d.pad[0] + kd * d.dilation[0];
      const int64_t ih = oh * d.stride[1] - d.pad[1] + kh * d.dilation[1];
      const bool row_in = id >= 0 && id < d.in[0] && ih >= 0 && ih < d.in[1];
      const int64_t base = (id * d.in[1] + ih) * d.in[2];
      for (int64_t q = 0; q < run; ++q) {
        const int64_t iw = (ow + q) * d.stride[2] - d.pad[2] + kw * d.dilation[2];
        fn(r, c, row_in && iw >= 0 && iw < d.in[2] ? base + iw : -1, j + q);
      }
      j += run;
      ow += run;
      if (ow == d.out[2]) {
        ow = 0;
        if (++oh == d.out[1]) oh = 0, ++od;
      }
    }
  }
}

// Unfolds rows [r0, r1) of the tile at p0 from the group's planes (row r at col + (r - r0) nc).
void im2col(const ConvDesc& d, const Plan& pl, const float* xg, int64_t r0, int64_t r1, int64_t p0,
            int64_t nc, float* col) {
  walk_columns(d, r0, r1, p0, nc, [&](int64_t r, int64_t c, int64_t i, int64_t j) {
    col[(r - r0) * nc + j] = i < 0 ? 0.0f : xg[c * pl.in_vol + i];
  });
}

// Adds rows [r0, r1) of a column tile back into the group's input-gradient planes.
void col2im(const ConvDesc& d, const Plan& pl, const float* col, int64_t r0, int64_t r1, int64_t p0,
            int64_t nc, float* dxg) {
  walk_columns(d, r0, r1, p0, nc, [&](int64_t r, int64_t c, int64_t i, int64_t j) {
    if (i >= 0) dxg[c * pl.in_vol + i] += col[r * nc + j];
  });
}

// Folds a whole tile back on up to `threads` threads (whole channels per thread: no overlap).
void col2im_parallel(const ConvDesc& d, const Plan& pl, const float* col, int64_t p0, int64_t nc,
                     float* dxg, int threads) {
  const int64_t taps = conv_kernel_volume(d);
  parallel_ranges(pl.cg, threads, [&](int, int64_t lo, int64_t hi) {
    col2im(d, pl, col, lo * taps, hi * taps, p0, nc, dxg);
  });
}

// A row-major GEMM descriptor with explicit leading dims.
GemmDesc gemm(int64_t m, int64_t n, int64_t k, bool ta, int64_t lda, bool tb, int64_t ldb,
              int64_t ldc, double beta) {
  GemmDesc g;
  g.m = m, g.n = n, g.k = k;
  g.trans_a = ta, g.trans_b = tb;
  g.lda = lda, g.ldb = ldb, g.ldc = ldc;
  g.beta = beta;
  return g;
}

// Image n, group g, tile t of a flat item index over (n, g, tile).
void split_item(const Plan& pl, int64_t groups, int64_t item, int64_t* n, int64_t* g, int64_t* t) {
  *t = item % pl.tiles;
  *g = item / pl.tiles % groups;
  *n = item / pl.tiles / groups;
}

// dx for image n, group g: one tile at a time, W_g^T dy into the column tile, folded back.
void backward_data_item(const ConvDesc& d, const Plan& pl, int64_t n, int64_t g, const float* dy,
                        const float* w, float* dx, char* slice, int threads, SimdPath path) {
  float* dxg = dx + (n * d.c + g * pl.cg) * pl.in_vol;
  std::memset(dxg, 0, static_cast<size_t>(pl.cg * pl.in_vol) * sizeof(float));
  float* col = reinterpret_cast<float*>(slice);
  for (int64_t t = 0; t < pl.tiles; ++t) {
    const int64_t p0 = t * pl.cols, nc = std::min(pl.cols, pl.p - p0);
    const GemmDesc gd = gemm(pl.rows, nc, pl.kg, true, pl.rows, false, pl.p, nc, 0.0);
    sgemm_v3_packed(gd, w + g * pl.kg * pl.rows, dy + (n * d.k + g * pl.kg) * pl.p + p0, col,
                    slice + pl.col_bytes, threads, path);
    col2im_parallel(d, pl, col, p0, nc, dxg, threads);
  }
}

// Rows [r0, r1) of dw_g += dy_g (image n) times those rows of the unfolded input transposed,
// one tile at a time.
void backward_weights_rows(const ConvDesc& d, const Plan& pl, int64_t n, int64_t g, int64_t r0,
                           int64_t r1, const float* x, const float* dy, float* dw, char* slice,
                           SimdPath path) {
  const float* xg = x + (n * d.c + g * pl.cg) * pl.in_vol;
  float* col = reinterpret_cast<float*>(slice);
  for (int64_t t = 0; t < pl.tiles; ++t) {
    const int64_t p0 = t * pl.cols, nc = std::min(pl.cols, pl.p - p0);
    const float* b = xg + r0 * pl.in_vol + p0;
    int64_t ldb = pl.in_vol;
    if (!pl.pointwise) {
      im2col(d, pl, xg, r0, r1, p0, nc, col);
      b = col, ldb = nc;
    }
    const GemmDesc gd = gemm(pl.kg, r1 - r0, nc, false, pl.p, true, ldb, pl.rows, 1.0);
    sgemm_v3_packed(gd, dy + (n * d.k + g * pl.kg) * pl.p + p0, b, dw + g * pl.kg * pl.rows + r0,
                    slice + pl.col_bytes, 1, path);
  }
}

}  // namespace

// 1x1 taps everywhere with stride 1 and padding 0 (dilation then has no effect).
bool conv_is_pointwise(const ConvDesc& d) {
  for (int i = 0; i < 3; ++i)
    if (d.kernel[i] != 1 || d.stride[i] != 1 || d.pad[i] != 0) return false;
  return true;
}

// The larger of `threads` slices (tile + one-thread panels) and one tile with all-thread panels.
size_t conv_workspace_bytes(const ConvDesc& d, int threads) {
  const Plan pl = make_plan(d, threads);
  const size_t t = static_cast<size_t>(std::max(threads, 1));
  return std::max(t * pl.slice_bytes, pl.col_bytes + pl.gemmt_bytes) + 64;
}

// Items (image, group, tile) are independent: each thread takes a contiguous range of them.
void conv_v2_im2col_forward(const ConvDesc& d, const float* x, const float* w, const float* bias,
                            float* y, void* workspace, int threads, SimdPath path) {
  const Plan pl = make_plan(d, threads);
  char* ws = aligned64(workspace);
  parallel_ranges(d.n * d.groups * pl.tiles, threads, [&](int tid, int64_t lo, int64_t hi) {
    char* slice = ws + static_cast<size_t>(tid) * pl.slice_bytes;
    float* col = reinterpret_cast<float*>(slice);
    for (int64_t item = lo; item < hi; ++item) {
      int64_t n, g, t;
      split_item(pl, d.groups, item, &n, &g, &t);
      const int64_t p0 = t * pl.cols, nc = std::min(pl.cols, pl.p - p0);
      const float* xg = x + (n * d.c + g * pl.cg) * pl.in_vol;
      const float* b = xg + p0;
      int64_t ldb = pl.in_vol;
      if (!pl.pointwise) {
        im2col(d, pl, xg, 0, pl.rows, p0, nc, col);
        b = col, ldb = nc;
      }
      float* yt = y + (n * d.k + g * pl.kg) * pl.p + p0;
      const GemmDesc gd = gemm(pl.kg, nc, pl.rows, false, pl.rows, false, ldb, pl.p, 0.0);
      sgemm_v3_packed(gd, w + g * pl.kg * pl.rows, b, yt, slice + pl.col_bytes, 1, path);
      if (!bias) continue;
      for (int64_t k = 0; k < pl.kg; ++k)
        for (int64_t j = 0; j < nc; ++j) yt[k * pl.p + j] += bias[g * pl.kg + k];
    }
  });
}

// Pointwise: independent (image, group, tile) GEMMs straight into dx. Otherwise whole (image,
// group) items per thread when there are enough, else one item at a time on all threads.
void conv_v2_im2col_backward_data(const ConvDesc& d, const float* dy, const float* w, float* dx,
                                  void* workspace, int threads, SimdPath path) {
  const Plan pl = make_plan(d, threads);
  char* ws = aligned64(workspace);
  if (pl.pointwise) {
    parallel_ranges(d.n * d.groups * pl.tiles, threads, [&](int tid, int64_t lo, int64_t hi) {
      char* slice = ws + static_cast<size_t>(tid) * pl.slice_bytes;
      for (int64_t item = lo; item < hi; ++item) {
        int64_t n, g, t;
        split_item(pl, d.groups, item, &n, &g, &t);
        const int64_t p0 = t * pl.cols, nc = std::min(pl.cols, pl.p - p0);
        const GemmDesc gd = gemm(pl.rows, nc, pl.kg, true, pl.rows, false, pl.p, pl.p, 0.0);
        sgemm_v3_packed(gd, w + g * pl.kg * pl.rows, dy + (n * d.k + g * pl.kg) * pl.p + p0,
                        dx + (n * d.c + g * pl.cg) * pl.in_vol + p0, slice, 1, path);
      }
    });
    return;
  }
  const int64_t items = d.n * d.groups;
  if (items >= threads) {
    parallel_ranges(items, threads, [&](int tid, int64_t lo, int64_t hi) {
      char* slice = ws + static_cast<size_t>(tid) * pl.slice_bytes;
      for (int64_t item = lo; item < hi; ++item)
        backward_data_item(d, pl, item / d.groups, item % d.groups, dy, w, dx, slice, 1, path);
    });
    return;
  }
  for (int64_t item = 0; item < items; ++item)
    backward_data_item(d, pl, item / d.groups, item % d.groups, dy, w, dx, ws, threads, path);
}

// Each thread owns a static range of dw's columns (unfolded-input rows) in every group: it
// unfolds only those rows and accumulates images and tiles in a fixed order. dbias sums dy.
void conv_v2_im2col_backward_weights(const ConvDesc& d, const float* x, const float* dy, float* dw,
                                     float* dbias, void* workspace, int threads, SimdPath path) {
  const Plan pl = make_plan(d, threads);
  char* ws = aligned64(workspace);
  std::memset(dw, 0, static_cast<size_t>(d.k * pl.rows) * sizeof(float));
  parallel_ranges(pl.rows, threads, [&](int tid, int64_t lo, int64_t hi) {
    char* slice = ws + static_cast<size_t>(tid) * pl.slice_bytes;
    for (int64_t g = 0; g < d.groups && lo < hi; ++g)
      for (int64_t n = 0; n < d.n; ++n)
        backward_weights_rows(d, pl, n, g, lo, hi, x, dy, dw, slice, path);
  });
  if (!dbias) return;
  parallel_ranges(d.k, threads, [&](int, int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      double s = 0;
      for (int64_t n = 0; n < d.n; ++n)
        for (int64_t j = 0; j < pl.p; ++j) s += dy[(n * d.k + k) * pl.p + j];
      dbias[k] = static_cast<float>(s);
    }
  });
}

}  // namespace signet::cpu
