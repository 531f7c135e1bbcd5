// v4 small-channel convolution: output positions of one row as the vector lanes over a
// zero-padded input slab per thread. Work is split by static contiguous ranges of (image, output
// depth, block of output rows), so results do not depend on timing.
#include "kernels/cpu/conv_small_c.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/conv_slab.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/workspace.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

using kernels::ConvDesc;

constexpr int kLanes = 16;                 // output positions per zmm
constexpr int kFilters = 4;                // filters per register tile
constexpr int kVectors = 6;                // position vectors per register tile
constexpr int kChunk = kVectors * kLanes;  // positions of the widest tile
// Slabs of about 128 KiB (at least one output row): with the packed weights and a tile's window
// they leave room in the 2 MiB L2 for the output rows being written.
constexpr int64_t kSlabBytes = int64_t{128} << 10;
// Outputs above this many bytes are written with streaming stores (case E, 205 MB: 6-9% faster
// at 1 thread).
constexpr double kStreamBytes = 64.0 * (1 << 20);

// Sizes of the packed weights and bias, the tap offsets and one slab: the zero-padded input that
// `rows` consecutive output rows of one output depth read (every channel, dspan depth slices, sh
// rows of pw values), plus a zero tail that the last vector of the last row may read.
struct Plan {
  int64_t kb = 0, taps = 0;  // 4-filter blocks, taps per filter plane
  int64_t rows = 0;          // output rows per slab
  int64_t dspan = 0, sh = 0, pw = 0, plane = 0, slab_floats = 0;
  size_t wp_bytes = 0, bias_bytes = 0, off_bytes = 0, slab_bytes = 0;
};

// The plan of d.
Plan make_plan(const ConvDesc& d) {
  Plan pl;
  pl.kb = (d.k + kFilters - 1) / kFilters;
  pl.taps = kernels::conv_kernel_volume(d);
  pl.dspan = d.dilation[0] * (d.kernel[0] - 1) + 1;
  const int64_t hspan = d.dilation[1] * (d.kernel[1] - 1) + 1;
  const int64_t wspan = d.dilation[2] * (d.kernel[2] - 1) + 1;
  pl.pw = d.in[2] + 2 * d.pad[2];
  const int64_t row_floats = d.c * pl.dspan * pl.pw;
  const int64_t fit = kSlabBytes / static_cast<int64_t>(sizeof(float)) / row_floats - hspan + 1;
  pl.rows = std::min(d.out[1], std::max<int64_t>(1, fit));
  pl.sh = pl.rows + hspan - 1;
  pl.plane = pl.dspan * pl.sh * pl.pw;
  pl.slab_floats = d.c * pl.plane + wspan + kChunk;
  pl.wp_bytes = round64(static_cast<size_t>(pl.kb * d.c * pl.taps * kFilters) * sizeof(float));
  pl.bias_bytes = round64(static_cast<size_t>(pl.kb * kFilters) * sizeof(float));
  pl.off_bytes = round64(static_cast<size_t>(pl.taps) * sizeof(int64_t));
  pl.slab_bytes = round64(static_cast<size_t>(pl.slab_floats) * sizeof(float));
  return pl;
}

// Where a tile's results go: output row `row` of each of the tile's nk filter planes (the
// tile's first row), the column of its first vector, the slab's and the output's row widths, and
// whether full, aligned vectors bypass the caches (outputs far larger than the caches, which the
// next layer reads back from memory anyway).
struct Out {
  float* y[kFilters];
  int nk;
  int64_t col0, pw, ow;
  bool stream;
};

#if defined(__x86_64__)
// out[k][r][col0 + j * 16 + l] = b[k] + sum over channels c < nc and taps t of
// x[c * plane + off[t] + r * pw + j * 16 + l] * w[c][t][k] for R rows x J position vectors and 4
// filters; a vector past the end of its row is stored under a mask.
template <int R, int J>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void tile(
    const float* x, int64_t plane, const int64_t* off, int64_t taps, int64_t nc, const float* w,
    const float* b, const Out& o) {
  constexpr int V = R * J;
  __m512 acc[kFilters][V];
  for (int k = 0; k < kFilters; ++k)
    for (int v = 0; v < V; ++v) acc[k][v] = _mm512_set1_ps(b[k]);
  const int64_t pw = o.pw;
  for (int64_t c = 0; c < nc; ++c, x += plane)
    for (int64_t t = 0; t < taps; ++t, w += kFilters) {
      const float* xr = x + off[t];
      __m512 xv[V];
      for (int v = 0; v < V; ++v) xv[v] = _mm512_loadu_ps(xr + v / J * pw + v % J * kLanes);
      for (int k = 0; k < kFilters; ++k) {
        const __m512 wb = _mm512_set1_ps(w[k]);
        for (int v = 0; v < V; ++v) acc[k][v] = _mm512_fmadd_ps(xv[v], wb, acc[k][v]);
      }
    }
  for (int v = 0; v < V; ++v) {
    const int64_t col = o.col0 + v % J * kLanes, n = std::min<int64_t>(kLanes, o.ow - col);
    for (int k = 0; k < o.nk; ++k) {
      float* dst = o.y[k] + v / J * o.ow + col;
      if (n < kLanes)
        _mm512_mask_storeu_ps(dst, static_cast<__mmask16>((1u << n) - 1), acc[k][v]);
      else if (o.stream && reinterpret_cast<uintptr_t>(dst) % 64 == 0)
        _mm512_stream_ps(dst, acc[k][v]);
      else
        _mm512_storeu_ps(dst, acc[k][v]);
    }
  }
}

// The signature of tile.
using TileFn = void (*)(const float* x, int64_t plane, const int64_t* off, int64_t taps, int64_t nc,
                        const float* w, const float* b, const Out& o);

// kTiles[R - 1][J - 1]: the tiles of R rows x J vectors, R * J <= 6 (null elsewhere).
constexpr TileFn kTiles[kVectors][kVectors] = {
    {&tile<1, 1>, &tile<1, 2>, &tile<1, 3>, &tile<1, 4>, &tile<1, 5>, &tile<1, 6>},
    {&tile<2, 1>, &tile<2, 2>, &tile<2, 3>},
    {&tile<3, 1>, &tile<3, 2>},
    {&tile<4, 1>},
    {&tile<5, 1>},
    {&tile<6, 1>}};
#endif

// wp[b][c][t][l] = w[b * 4 + l][c][t] and bp[b * 4 + l] = bias (zero past d.k or without bias).
void pack(const ConvDesc& d, const Plan& pl, const float* w, const float* bias, float* wp,
          float* bp) {
  for (int64_t b = 0; b < pl.kb; ++b)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t t = 0; t < pl.taps; ++t)
        for (int64_t l = 0; l < kFilters; ++l) {
          const int64_t k = b * kFilters + l;
          wp[((b * d.c + c) * pl.taps + t) * kFilters + l] =
              k < d.k ? w[(k * d.c + c) * pl.taps + t] : 0.0f;
        }
  for (int64_t k = 0; k < pl.kb * kFilters; ++k) bp[k] = bias && k < d.k ? bias[k] : 0.0f;
}

}  // namespace

bool conv_v4_small_c_fits(const ConvDesc& d) {
  if (d.groups != 1) return false;
  for (int i = 0; i < 3; ++i)
    if (d.stride[i] != 1) return false;
  return true;
}

// Packed weights and bias, tap offsets, then one slab per thread.
size_t conv_v4_small_c_workspace_bytes(const ConvDesc& d, int threads) {
  const Plan pl = make_plan(d);
  return pl.wp_bytes + pl.bias_bytes + pl.off_bytes +
         static_cast<size_t>(std::max(threads, 1)) * pl.slab_bytes + 64;
}

// Items (image, output depth, block of pl.rows output rows) over threads, the slab filled once
// per item; per row, tiles of at most 6 vectors (the row split evenly), each with every block of
// 4 filters.
void conv_v4_small_c_forward(const ConvDesc& d, const float* x, const float* w, const float* bias,
                             float* y, void* workspace, int threads, SimdPath) {
  const Plan pl = make_plan(d);
  char* ws = aligned64(workspace);
  float* wp = reinterpret_cast<float*>(ws);
  float* bp = reinterpret_cast<float*>(ws + pl.wp_bytes);
  int64_t* off = reinterpret_cast<int64_t*>(ws + pl.wp_bytes + pl.bias_bytes);
  char* slabs = ws + pl.wp_bytes + pl.bias_bytes + pl.off_bytes;
  pack(d, pl, w, bias, wp, bp);
  for (int64_t t = 0; t < pl.taps; ++t) {
    const int64_t a = t / (d.kernel[1] * d.kernel[2]), b = t / d.kernel[2] % d.kernel[1],
                  e = t % d.kernel[2];
    off[t] = (a * d.dilation[0] * pl.sh + b * d.dilation[1]) * pl.pw + e * d.dilation[2];
  }
#if defined(__x86_64__)
  const int64_t per_depth = (d.out[1] + pl.rows - 1) / pl.rows, blocks = d.out[0] * per_depth;
  const int64_t p = kernels::conv_out_volume(d), in_vol = kernels::conv_in_volume(d);
  const int64_t wstride = d.c * pl.taps * kFilters;
  // Rows split into tiles of at most 6 vectors; narrow rows (3 vectors or fewer) take several
  // rows per tile.
  const int64_t nvec = (d.out[2] + kLanes - 1) / kLanes, ntiles = (nvec + kVectors - 1) / kVectors;
  const int64_t rows = std::max<int64_t>(1, kVectors / ((nvec + ntiles - 1) / ntiles));
  const bool stream = static_cast<double>(d.n * d.k * p) * sizeof(float) > kStreamBytes;
  parallel_ranges(d.n * blocks, threads, [&](int tid, int64_t lo, int64_t hi) {
    float* slab = reinterpret_cast<float*>(slabs + static_cast<size_t>(tid) * pl.slab_bytes);
    Out o{{}, 0, 0, pl.pw, d.out[2], stream};
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t n = item / blocks, od = item % blocks / per_depth;
      const int64_t oh0 = item % per_depth * pl.rows, nr = std::min(pl.rows, d.out[1] - oh0);
      fill_conv_slab(d, {pl.dspan, pl.sh, pl.pw, pl.plane}, x + n * d.c * in_vol, od, oh0,
                     nr + pl.sh - pl.rows, slab, pl.slab_floats);
      for (int64_t r = 0; r < nr; r += rows) {
        const int64_t rr = std::min(rows, nr - r);
        float* yr = y + n * d.k * p + (od * d.out[1] + oh0 + r) * d.out[2];
        for (int64_t t = 0; t < ntiles; ++t) {
          const int64_t v0 = nvec * t / ntiles, j = nvec * (t + 1) / ntiles - v0;
          o.col0 = v0 * kLanes;
          for (int64_t b = 0; b < pl.kb; ++b) {
            o.nk = static_cast<int>(std::min<int64_t>(kFilters, d.k - b * kFilters));
            for (int k = 0; k < o.nk; ++k) o.y[k] = yr + (b * kFilters + k) * p;
            kTiles[rr - 1][j - 1](slab + r * pl.pw + o.col0, pl.plane, off, pl.taps, d.c,
                                  wp + b * wstride, bp + b * kFilters, o);
          }
        }
      }
    }
    if (stream) _mm_sfence();
  });
#else
  (void)x, (void)y, (void)threads, (void)wp, (void)bp, (void)slabs;
#endif
}

}  // namespace signet::cpu
