// v3 direct convolution: packed weights, a zero-padded image per thread and an AVX-512 register
// tile of 14 output positions x 32 output channels. The threads claim the forward's work items
// (image, block of output rows, filter pair) and backward-weights' slots as they go (ItemClaims);
// each output value is computed by one item in a fixed order and each slot's dw sums its own
// chunks in order, so results do not depend on timing (backward-weights' depend on the thread
// count, through the slots).
#include "kernels/cpu/conv_direct.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/cpu/conv_slab.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/workspace.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

using kernels::ConvDesc;

constexpr int kTileW = 14;  // output positions per register tile
constexpr int kLanes = 16;  // output channels per zmm

// The forward problem that computes d's backward-data: dy in, dx out, channels swapped, padding
// dilation * (kernel - 1) - padding.
ConvDesc data_problem(const ConvDesc& d) {
  ConvDesc t = d;
  t.c = d.k, t.k = d.c;
  for (int i = 0; i < 3; ++i) {
    t.in[i] = d.out[i], t.out[i] = d.in[i];
    t.pad[i] = d.dilation[i] * (d.kernel[i] - 1) - d.pad[i];
  }
  return t;
}

// Sizes of a forward problem's packed weights and padded slab: the zero-padded input that `rows`
// consecutive output rows of one output depth read (every channel, dspan depth slices, sh rows of
// pw values).
struct Plan {
  int64_t kb = 0, taps = 0;  // 16-filter blocks, taps per filter plane
  int64_t rows = 0;          // output rows per slab
  int64_t dspan = 0, sh = 0, pw = 0, plane = 0;
  size_t wp_bytes = 0, off_bytes = 0, img_bytes = 0, row_bytes = 0;
  // A thread's slab and row of accumulators.
  size_t thread_bytes() const { return img_bytes + row_bytes; }
};

// Slabs of about kSlabBytes (at least one output row): with 64 KiB the re-copied rows cost D 10%;
// with 256 KiB C's backward-data (256 channels of 34 columns) took 5 rows a slab and re-copied
// 2 of every 7 (1-3% of its time against 512 KiB, up to 13 rows a slab).
constexpr int64_t kSlabBytes = int64_t{512} << 10;

// The plan of forward problem d with slabs of at most max_rows output rows (0: about
// kSlabBytes, the rows of a depth split evenly over the slabs that take them).
Plan make_plan(const ConvDesc& d, int64_t max_rows = 0) {
  Plan pl;
  pl.kb = (d.k + kLanes - 1) / kLanes;
  pl.taps = kernels::conv_kernel_volume(d);
  pl.dspan = d.dilation[0] * (d.kernel[0] - 1) + 1;
  const int64_t hspan = d.dilation[1] * (d.kernel[1] - 1) + 1;
  pl.pw = d.in[2] + 2 * d.pad[2];
  const int64_t row_floats = d.c * pl.dspan * pl.pw;
  const int64_t fit = kSlabBytes / static_cast<int64_t>(sizeof(float)) / row_floats - hspan + 1;
  pl.rows = std::min(d.out[1], std::max<int64_t>(1, max_rows > 0 ? max_rows : fit));
  // Even slabs: C's 32 rows took slabs of 28 and 4 rows (a 4-row item 7% over its share of the
  // FLOPs, its slab's fill zeroing the 24 rows below in every plane), now 16 + 16 (a 313 KiB
  // slab in L2 instead of 532 KiB); D's 56 rows 28 + 28 instead of 33 + 23. t2, 150-300 calls
  // of each alternated call by call, SCHED_FIFO, a noisy host: median per-call time ratio to the
  // uneven split C fwd 0.979-0.991 (3 runs), D fwd 0.958-0.981 (2 runs; each run's quartiles
  // about +-4%), C and D bwd_data 0.99-1.01.
  if (max_rows == 0) {
    const int64_t slabs = (d.out[1] + pl.rows - 1) / pl.rows;
    pl.rows = (d.out[1] + slabs - 1) / slabs;
  }
  pl.sh = pl.rows + hspan - 1;
  // Whole lines a channel plane, an odd number of them, so that a tile's channels fall in different
  // L1 sets: C's planes of 30 x 34 floats before the even slabs (4080 bytes, 16 short of 4 KiB) put
  // the rows that a tile reads of its 12-13 channels in the same few sets (t1, perf cpu-clock
  // samples: the stall at the head of the tile's inner loop 14% -> 7% of its samples; time within
  // noise, t2 best of 40 calls 312 -> 313 GFLOP/s).
  pl.plane = (pl.dspan * pl.sh * pl.pw + kLanes - 1) / kLanes * kLanes;
  if (pl.plane / kLanes % 2 == 0) pl.plane += kLanes;
  pl.wp_bytes = round64(static_cast<size_t>(pl.kb * kLanes * d.c * pl.taps) * sizeof(float));
  pl.off_bytes = round64(static_cast<size_t>(pl.taps) * sizeof(int64_t));
  pl.img_bytes = round64(static_cast<size_t>(d.c * pl.plane) * sizeof(float));
  // The row of accumulators has whole 16-position blocks: transpose_full reads 16 rows.
  pl.row_bytes = round64(
      static_cast<size_t>((d.out[2] + kLanes - 1) / kLanes * kLanes * 2 * kLanes) * sizeof(float));
  return pl;
}

// wp[b][c][t][l] = value(b * 16 + l, c, t), zero for filters past d.k; channels split over
// threads.
template <class Value>
void pack_weights(const ConvDesc& d, const Plan& pl, Value value, float* wp, int threads) {
  parallel_ranges(d.c, threads, [&](int, int64_t lo, int64_t hi) {
    for (int64_t b = 0; b < pl.kb; ++b)
      for (int64_t c = lo; c < hi; ++c) {
        float* o = wp + (b * d.c + c) * pl.taps * kLanes;
        for (int64_t t = 0; t < pl.taps; ++t, o += kLanes)
          for (int64_t l = 0; l < kLanes; ++l) {
            const int64_t k = b * kLanes + l;
            o[l] = k < d.k ? value(k, c, t) : 0.0f;
          }
      }
  });
}

// Tap t's offset in the slab from an output position (the tap order of w).
int64_t tap_offset(const ConvDesc& d, const Plan& pl, int64_t t) {
  const int64_t a = t / (d.kernel[1] * d.kernel[2]), b = t / d.kernel[2] % d.kernel[1],
                e = t % d.kernel[2];
  return (a * d.dilation[0] * pl.sh + b * d.dilation[1]) * pl.pw + e * d.dilation[2];
}

// Every tap's offset (see tap_offset).
void tap_offsets(const ConvDesc& d, const Plan& pl, int64_t* off) {
  for (int64_t t = 0; t < pl.taps; ++t) off[t] = tap_offset(d, pl, t);
}

// Copies into slab what output rows [oh0, oh0 + nr) of output depth od read from image x (C
// planes), with zeros for the padding.
void pad_slab(const ConvDesc& d, const Plan& pl, const float* x, int64_t od, int64_t oh0,
              int64_t nr, float* slab) {
  fill_conv_slab(d, {pl.dspan, pl.sh, pl.pw, pl.plane}, x, od, oh0, nr + pl.sh - pl.rows, slab,
                 d.c * pl.plane);
}

// The feed of what block blk (of per_depth blocks of pl.rows output rows a depth) of image n of
// x reads into its slab.
LineFeed slab_source(const ConvDesc& d, const Plan& pl, const float* x, int64_t n, int64_t blk,
                     int64_t per_depth) {
  const int64_t oh0 = blk % per_depth * pl.rows, nr = std::min(pl.rows, d.out[1] - oh0);
  return conv_slab_source(d, {pl.dspan, pl.sh, pl.pw, pl.plane},
                          x + n * d.c * kernels::conv_in_volume(d), blk / per_depth, oh0,
                          nr + pl.sh - pl.rows);
}

#if defined(__x86_64__)
// The feed of the lines of y that item `item` of run_direct writes (its filter pair's planes,
// its block's rows).
LineFeed y_rows(const ConvDesc& d, const Plan& pl, const float* y, int64_t item, int64_t pairs,
                int64_t per_depth) {
  const int64_t blk = item / pairs % (d.out[0] * per_depth), k0 = item % pairs * 2 * kLanes;
  const int64_t n = item / pairs / (d.out[0] * per_depth), oh0 = blk % per_depth * pl.rows;
  const int64_t nr = std::min(pl.rows, d.out[1] - oh0), p = kernels::conv_out_volume(d);
  const int64_t bytes = static_cast<int64_t>(sizeof(float));
  return LineFeed(y + (n * d.k + k0) * p + (blk / per_depth * d.out[1] + oh0) * d.out[2],
                  std::min(d.k, k0 + 2 * kLanes) - k0, p * bytes, 1, 0, nr * d.out[2] * bytes);
}
#endif

// acc[j][v * 16 + l] (+)= sum over channels c < nc and taps of x[c][off[t] + j] * w[v][c][t][l]:
// J output positions x V filter blocks, the packed filters of block v at w + v * wstride, acc
// with 32 floats per position (read first unless the tile zeroes it); nc and taps at least 1.
// Per channel the tile prefetches (into L2) the next two lines of [pf, pf_end): memory that later
// work reads or writes, spread between the FMAs (a burst of 16-32 prefetches before a tile
// stalled on the fill buffers, ~6 cycles each; a list of line addresses cost more to write than
// it saved).
using TileFn = void (*)(const float* x, int64_t plane, const int64_t* off, int64_t taps, int64_t nc,
                        const float* w, int64_t wstride, float* acc, const char* pf,
                        const char* pf_end);

#if defined(__x86_64__)
// The loops are do-while (nc, taps >= 1) with the zeroing fixed at compile time: with for loops
// and a run-time flag GCC kept the accumulators on the stack around the loop (~10% of D's tile
// time in spills and reloads outside the inner loop).
template <int J, int V, bool Zero>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void tile(
    const float* x, int64_t plane, const int64_t* off, int64_t taps, int64_t nc, const float* w,
    int64_t wstride, float* out, const char* pf, const char* pf_end) {
  __m512 acc[J][V];
  for (int j = 0; j < J; ++j)
    for (int v = 0; v < V; ++v)
      acc[j][v] = Zero ? _mm512_setzero_ps() : _mm512_load_ps(out + j * 2 * kLanes + v * kLanes);
  const int64_t* const off_end = off + taps;
  const float* const x_end = x + nc * plane;
  do {
    if (pf < pf_end) {
      __builtin_prefetch(pf, 0, 2);
      __builtin_prefetch(pf + 64, 0, 2);
      pf += 128;
    }
    const int64_t* o = off;
    do {
      const float* xr = x + *o;
      __m512 wv[V];
      for (int v = 0; v < V; ++v) wv[v] = _mm512_load_ps(w + v * wstride);
      for (int j = 0; j < J; ++j) {
        const __m512 xb = _mm512_set1_ps(xr[j]);
        for (int v = 0; v < V; ++v) acc[j][v] = _mm512_fmadd_ps(xb, wv[v], acc[j][v]);
      }
      w += kLanes;
    } while (++o != off_end);
    x += plane;
  } while (x != x_end);
  for (int j = 0; j < J; ++j)
    for (int v = 0; v < V; ++v) _mm512_store_ps(out + j * 2 * kLanes + v * kLanes, acc[j][v]);
}

// dst[j][i] = src[i][j] (+ row_add[j]) for a 16 x 16 block: src rows i < rows (row stride ls,
// lanes in load_mask, the rest zero), dst rows j < dst_rows (row stride ld, lanes in store_mask).
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void transpose_block(
    const float* src, int64_t ls, int rows, __mmask16 load_mask, float* dst, int64_t ld,
    int dst_rows, __mmask16 store_mask, const float* row_add) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i)
    r[i] = i < rows ? _mm512_maskz_loadu_ps(load_mask, src + i * ls) : _mm512_setzero_ps();
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]),
                  c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, b, d));
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_maskz_shuffle_f32x4(0xFFFF, r[8 * i + j], r[8 * i + 4 + j], 0x88);
      t[8 * i + 4 + j] = _mm512_maskz_shuffle_f32x4(0xFFFF, r[8 * i + j], r[8 * i + 4 + j], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_maskz_shuffle_f32x4(0xFFFF, t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_maskz_shuffle_f32x4(0xFFFF, t[j], t[8 + j], 0xdd);
  }
  for (int j = 0; j < dst_rows; ++j) {
    const __m512 v = row_add ? _mm512_add_ps(r[j], _mm512_set1_ps(row_add[j])) : r[j];
    _mm512_mask_storeu_ps(dst + j * ld, store_mask, v);
  }
}

// dst[j][i] = src[i][j] (+ row_add[j]) for a full 16 x 16 block: src rows i < 16 (row stride
// ls, all read), dst rows j < dst_rows (row stride ld, lanes in store_mask). The 4-float
// quarters of the rows go into place as they load (vinsertf32x4 from memory runs on port 0 or 5)
// and only the 4 x 4 transposes inside each 128-bit lane shuffle (port 5): 32 shuffles and 48
// inserts instead of transpose_block's 64 shuffles, 18 ns against 23 ns a block (1 thread). The
// shuffles are the masked forms with full masks, as in transpose_block (GCC 12 warns that the
// unmasked ones read an uninitialized value).
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void transpose_full(
    const float* src, int64_t ls, float* dst, int64_t ld, int dst_rows, __mmask16 store_mask,
    const float* row_add) {
  __m512 o[16];
  for (int q = 0; q < 4; ++q) {
    // z[a], 128-bit lane i: src row 4 i + a, columns 4 q .. 4 q + 3.
    __m512 z[4];
    for (int a = 0; a < 4; ++a) {
      const float* s = src + a * ls + 4 * q;
      __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(s));
      v = _mm512_insertf32x4(v, _mm_loadu_ps(s + 4 * ls), 1);
      v = _mm512_insertf32x4(v, _mm_loadu_ps(s + 8 * ls), 2);
      z[a] = _mm512_insertf32x4(v, _mm_loadu_ps(s + 12 * ls), 3);
    }
    const __m512d t0 = _mm512_castps_pd(_mm512_maskz_unpacklo_ps(0xFFFF, z[0], z[1]));
    const __m512d t1 = _mm512_castps_pd(_mm512_maskz_unpackhi_ps(0xFFFF, z[0], z[1]));
    const __m512d t2 = _mm512_castps_pd(_mm512_maskz_unpacklo_ps(0xFFFF, z[2], z[3]));
    const __m512d t3 = _mm512_castps_pd(_mm512_maskz_unpackhi_ps(0xFFFF, z[2], z[3]));
    o[4 * q] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, t0, t2));
    o[4 * q + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, t0, t2));
    o[4 * q + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, t1, t3));
    o[4 * q + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, t1, t3));
  }
  for (int j = 0; j < dst_rows; ++j) {
    const __m512 v = row_add ? _mm512_add_ps(o[j], _mm512_set1_ps(row_add[j])) : o[j];
    _mm512_mask_storeu_ps(dst + j * ld, store_mask, v);
  }
}

// The mask of the first n (<= 16) lanes.
__mmask16 lanes(int64_t n) {
  return static_cast<__mmask16>((1u << n) - 1);
}

// Prefetches into L1, for writing, the lines of `planes` output rows of `floats` floats each,
// the first at row and each next `stride` floats on: the lines a row's transposes store into.
void prefetch_rows_for_write(const float* row, int64_t planes, int64_t stride, int64_t floats) {
  for (int64_t i = 0; i < planes; ++i, row += stride) {
    const uintptr_t end = reinterpret_cast<uintptr_t>(row + floats);
    for (uintptr_t at = reinterpret_cast<uintptr_t>(row) & ~uintptr_t{63}; at < end; at += 64)
      __builtin_prefetch(reinterpret_cast<const void*>(at), 1, 3);
  }
}

// The tiles for widths 1..kTileW, one filter block then two; accumulating, then zeroing.
template <size_t... J>
constexpr std::array<TileFn, 4 * sizeof...(J)> make_tiles(std::index_sequence<J...>) {
  return {&tile<J + 1, 1, false>..., &tile<J + 1, 2, false>..., &tile<J + 1, 1, true>...,
          &tile<J + 1, 2, true>...};
}

constexpr auto kTiles = make_tiles(std::make_index_sequence<kTileW>());
#endif

#if defined(__x86_64__)
// acc[j][v] (at dwb + j * 16 + v * vstride) += sum over positions i < np of x[j][i] * dyb[v][i],
// for J (channel, tap) pairs at x[j] (padded-image rows, position i at x[j] + pos[i]) and V
// 16-filter blocks of the blocked gradient dyb (16 filters per position, block v at + v * dstride);
// with First the sums are stored (acc not read: the first chunk of a slot). Per position it
// prefetches (into L2) the next line of [pf, pf_end), as the forward tile does.
template <int J, int V, bool First>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void weights_tile(
    const float* const* x, const int64_t* pos, int64_t np, const float* dyb, int64_t dstride,
    float* dwb, int64_t vstride, const char* pf, const char* pf_end) {
  __m512 acc[J][V];
  for (int j = 0; j < J; ++j)
    for (int v = 0; v < V; ++v) acc[j][v] = _mm512_setzero_ps();
  const float* xs[J];
  for (int j = 0; j < J; ++j) xs[j] = x[j];
  for (int64_t i = 0; i < np; ++i, dyb += kLanes) {
    __m512 dv[V];
    for (int v = 0; v < V; ++v) dv[v] = _mm512_load_ps(dyb + v * dstride);
    if (pf < pf_end) {
      __builtin_prefetch(pf, 0, 2);
      pf += 64;
    }
    const int64_t at = pos[i];
    for (int j = 0; j < J; ++j) {
      const __m512 xb = _mm512_set1_ps(xs[j][at]);
      for (int v = 0; v < V; ++v) acc[j][v] = _mm512_fmadd_ps(xb, dv[v], acc[j][v]);
    }
  }
  for (int j = 0; j < J; ++j)
    for (int v = 0; v < V; ++v) {
      float* o = dwb + j * kLanes + v * vstride;
      _mm512_store_ps(o, First ? acc[j][v] : _mm512_add_ps(_mm512_load_ps(o), acc[j][v]));
    }
}

// The signature of weights_tile.
using WeightsTileFn = void (*)(const float* const* x, const int64_t* pos, int64_t np,
                               const float* dyb, int64_t dstride, float* dwb, int64_t vstride,
                               const char* pf, const char* pf_end);

// The weights tiles for 1..kTileW pairs, one filter block then two, adding then storing.
template <size_t... J>
constexpr std::array<WeightsTileFn, 4 * sizeof...(J)> make_weights_tiles(
    std::index_sequence<J...>) {
  return {&weights_tile<J + 1, 1, false>..., &weights_tile<J + 1, 2, false>...,
          &weights_tile<J + 1, 1, true>..., &weights_tile<J + 1, 2, true>...};
}

constexpr auto kWeightsTiles = make_weights_tiles(std::make_index_sequence<kTileW>());
#endif

// The parts of `total` split evenly into n (part i: [total * i / n, total * (i + 1) / n)), stepped
// without divisions: run_direct's two idivs per tile call took ~1% of C's forward (t1, perf
// cpu-clock samples).
class EvenParts {
 public:
  EvenParts(int64_t total, int64_t n) : base_(total / n), rem_(total % n), n_(n) {}
  // Moves to the next part (the first on the first call).
  void next() {
    lo_ = hi_, hi_ += base_, carry_ += rem_;
    if (carry_ >= n_) ++hi_, carry_ -= n_;
  }
  int64_t lo() const { return lo_; }
  int64_t hi() const { return hi_; }

 private:
  int64_t base_, rem_, n_, lo_ = 0, hi_ = 0, carry_ = 0;
};

// Channel blocks per pass over a row: each block's packed filters for one pair of blocks
// (channels x taps x 32 floats) stay within about 16 KiB of L1 while every tile of the row uses
// them, the channels split evenly over the blocks (D's 64 = 14 + 14 + 14 + 14 + 8 became 5 x
// 12-13: no short block with a whole tile prologue and epilogue); a row of one tile (ntiles = 1)
// reuses nothing, so it takes every channel in one block (one accumulator load and store per row
// instead of one per block: B, 14x14 with 32 channels, had three).
#if defined(__x86_64__)
int64_t channel_blocks(const ConvDesc& d, const Plan& pl, int64_t ntiles) {
  if (ntiles == 1) return 1;
  const int64_t most = std::max<int64_t>(1, 4096 / (pl.taps * 2 * kLanes));
  return (d.c + most - 1) / most;
}
#endif

// The items of a parallel loop, claimed from a shared counter in chunks of the unclaimed items
// over 4 x threads (at least one; all of them on one thread), the next chunk claimed while the
// current one runs, so that a thread knows the items it runs after the current one (for its
// prefetches): a thread that runs late (preempted, woken late, its core shared) takes fewer items
// instead of holding the others at the end of the loop. Below 4 items a thread the split is
// static (thread tid's share of total, as parallel_ranges), so that no thread claims another's
// only item before that one wakes.
class ItemClaims {
 public:
  ItemClaims(std::atomic<int64_t>& next, int64_t total, int threads, int tid)
      : next_(next), total_(total), threads_(threads), fixed_(total < 4 * int64_t{threads}) {
    if (fixed_)
      lo_ = total * tid / threads, hi_ = total * (tid + 1) / threads;
    else
      claim(&lo_, &hi_);
    if (lo_ == hi_) lo_ = hi_ = total;
  }
  // The first item of this thread (total when none is left).
  int64_t first() const { return lo_; }
  // The item this thread runs after i, an item of its current chunk up to which it runs
  // (claiming the next chunk when i ends the current one; total when none is left).
  int64_t following(int64_t i) {
    if (i + 1 < hi_) return i + 1;
    if (!ahead_) claim(&alo_, &ahi_), ahead_ = true;
    return alo_;
  }
  // The item after i, the item that runs now (following(i)), the next chunk becoming current
  // when i ends this one.
  int64_t after(int64_t i) {
    const int64_t n = following(i);
    if (i + 1 >= hi_) lo_ = alo_, hi_ = ahi_, ahead_ = false;
    return n;
  }
  // The end of the current chunk.
  int64_t end() const { return hi_; }

 private:
  // Claims the next chunk as [*lo, *hi) (empty at total when none is left).
  void claim(int64_t* lo, int64_t* hi) {
    if (fixed_) {
      *lo = *hi = total_;
      return;
    }
    int64_t at = next_.load(std::memory_order_relaxed), n = 0;
    do {
      if (at >= total_) {
        *lo = *hi = total_;
        return;
      }
      n = threads_ == 1 ? total_ - at : std::max<int64_t>(1, (total_ - at) / (4 * threads_));
    } while (!next_.compare_exchange_weak(at, at + n, std::memory_order_relaxed));
    *lo = at, *hi = at + n;
  }
  std::atomic<int64_t>& next_;
  int64_t total_;
  int threads_;
  bool fixed_;
  int64_t lo_ = 0, hi_ = 0, alo_ = 0, ahi_ = 0;
  bool ahead_ = false;
};

// y = conv(x, packed weights) + bias for a forward problem: items (image, block of pl.rows
// output rows of one depth, pair of 16-filter blocks) claimed by the threads (ItemClaims), a slab
// built once per block a thread runs; per row, channel blocks outside and tiles of at most 14
// positions (the row split evenly) inside, accumulating in a row buffer, then transposed to y.
// The tiles of an item prefetch into L2 the y lines of the thread's next item, then the input of
// its next slab: from memory, B's fill and transposes (14 store rows of 14 floats per filter and
// image) took 10.8% of its forward, 6.9% with the prefetch and transpose_full (1 thread, perf
// cpu-clock samples). Claimed rather than split statically: at 2 threads under load (3-5) one
// thread finished 0.55-1.3 ms (B, 15-30% of a call) and 0.7-6.7 ms (D) before the other and
// waited; claimed, 0.03-0.5 ms and 0.14-1.5 ms (per-thread timestamps, 200-call means).
void run_direct(const ConvDesc& d, const Plan& pl, const float* x, const float* wp,
                const int64_t* off, const float* bias, float* y, char* slices, int threads) {
#if defined(__x86_64__)
  const int64_t pairs = (pl.kb + 1) / 2, per_depth = (d.out[1] + pl.rows - 1) / pl.rows;
  const int64_t blocks = d.out[0] * per_depth, groups = d.n * blocks;
  const int64_t p = kernels::conv_out_volume(d), in_vol = kernels::conv_in_volume(d);
  const int64_t ntiles = (d.out[2] + kTileW - 1) / kTileW;
  const int64_t wstride = d.c * pl.taps * kLanes, cblocks = channel_blocks(d, pl, ntiles);
  const int64_t total = groups * pairs;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, total)));
  std::atomic<int64_t> next{0};
  // A team smaller than nt (a nested parallel region) runs several threads' shares in turn.
  parallel_ranges(nt, nt, [&](int tid, int64_t lo, int64_t hi) {
    char* slice = slices + static_cast<size_t>(tid) * pl.thread_bytes();
    float* img = reinterpret_cast<float*>(slice);
    float* racc = reinterpret_cast<float*>(slice + pl.img_bytes);
    for (int64_t share = lo; share < hi; ++share) {
      ItemClaims claims(next, total, nt, static_cast<int>(share));
      int64_t cur = -1;
      LineFeed x_feed;
      for (int64_t item = claims.first(), item1 = 0; item < total; item = item1) {
        const int64_t g = item / pairs, n = g / blocks, blk = g % blocks, od = blk / per_depth;
        const int64_t oh0 = blk % per_depth * pl.rows, nr = std::min(pl.rows, d.out[1] - oh0);
        if (g != cur) {
          pad_slab(d, pl, x + n * d.c * in_vol, od, oh0, nr, img);
          // The first item after this thread's items of block g (in its current chunk).
          const int64_t at = claims.following(std::min(claims.end(), (g + 1) * pairs) - 1);
          x_feed = at < total && at / pairs != g
                       ? slab_source(d, pl, x, at / pairs / blocks, at / pairs % blocks, per_depth)
                       : LineFeed();
        }
        cur = g;
        item1 = claims.after(item);
        const int64_t b0 = item % pairs * 2;
        const int v = static_cast<int>(std::min<int64_t>(2, pl.kb - b0));
        const int64_t k0 = b0 * kLanes, k1 = std::min(d.k, k0 + v * kLanes);
        // While this item runs, its tiles prefetch the lines of y that the next item writes, then
        // a share of the next slab's input.
        LineFeed y_feed = item1 < total ? y_rows(d, pl, y, item1, pairs, per_depth) : LineFeed();
        const int64_t calls = nr * cblocks * ntiles;
        const int64_t per_call = (y_feed.lines() + x_feed.lines() / pairs) / calls + 1;
        for (int64_t r = 0; r < nr; ++r) {
          const int64_t row = od * d.out[1] + oh0 + r;
          EvenParts cparts(d.c, cblocks);
          for (int64_t cb = 0; cb < cblocks; ++cb) {
            cparts.next();
            const int64_t c0 = cparts.lo(), nc = cparts.hi() - c0;
            // Before the row's last channel block, the y lines its transposes store into, so
            // that they are in L1 by the end of the block's tiles: D fwd's transposes 4.9% -> 2.3%
            // of its samples (t2, perf cpu-clock); 150-200 calls alternated, SCHED_FIFO, a
            // noisy host: median per-call time ratio D fwd 0.972-0.983, D bwd_data 0.984, C fwd
            // 0.992-0.993 (quartiles about +-4%). Not with one channel block (B fwd and bwd_data:
            // the prefetches right before its only tile, 1.03 and 1.01).
            if (cb == cblocks - 1 && cblocks > 1)
              prefetch_rows_for_write(y + (n * d.k + k0) * p + row * d.out[2], k1 - k0, p,
                                      d.out[2]);
            EvenParts wparts(d.out[2], ntiles);
            for (int64_t t = 0; t < ntiles; ++t) {
              wparts.next();
              const int64_t ow0 = wparts.lo(), ow1 = wparts.hi();
              const char *pf, *pf_end;
              y_feed.take(std::min(2 * nc, per_call), &pf, &pf_end);
              if (pf == pf_end) x_feed.take(std::min(2 * nc, per_call), &pf, &pf_end);
              kTiles[((c0 == 0) * 2 + v - 1) * kTileW + (ow1 - ow0) - 1](
                  img + c0 * pl.plane + r * pl.pw + ow0, pl.plane, off, pl.taps, nc,
                  wp + b0 * wstride + c0 * pl.taps * kLanes, wstride, racc + ow0 * 2 * kLanes, pf,
                  pf_end);
            }
          }
          for (int64_t kk = k0; kk < k1; kk += kLanes) {
            const int nk = static_cast<int>(std::min<int64_t>(kLanes, k1 - kk));
            for (int64_t ow = 0; ow < d.out[2]; ow += kLanes) {
              const int nw = static_cast<int>(std::min<int64_t>(kLanes, d.out[2] - ow));
              transpose_full(racc + ow * 2 * kLanes + (kk - k0), 2 * kLanes,
                             y + (n * d.k + kk) * p + row * d.out[2] + ow, p, nk, lanes(nw),
                             bias ? bias + kk : nullptr);
            }
          }
        }
      }
    }
  });
#else
  (void)d, (void)pl, (void)x, (void)wp, (void)off, (void)bias, (void)y, (void)slices;
  (void)threads;
#endif
}

// Workspace pieces: packed weights, tap offsets, then per thread a padded image and a row of
// accumulators.
struct Pieces {
  float* wp;
  int64_t* off;
  char* slices;
};

// The pieces of an aligned workspace (no packed weights in it when `packed` is given).
Pieces split(const Plan& pl, void* workspace, const float* packed) {
  char* ws = aligned64(workspace);
  const size_t wp_bytes = packed ? 0 : pl.wp_bytes;
  return {reinterpret_cast<float*>(ws), reinterpret_cast<int64_t*>(ws + wp_bytes),
          ws + wp_bytes + pl.off_bytes};
}

#if defined(__x86_64__)
// pack_for with AVX-512 transposes: per 16-filter block and channel, the 16 filters' taps (a row
// each, taps reversed for backward-data) transposed up to 16 taps at a time into [tap][16]
// (C's 295k weights: ~1 ms scalar, 3% of its forward, each call).
void pack_transposed(const ConvDesc& d, const Plan& pl, bool data, const float* w, float* wp,
                     int threads) {
  const int64_t taps = pl.taps, k = data ? d.c : d.k, c = data ? d.k : d.c;
  // Below 64k weights (B, D: 18k, 37k; 4-8 us) one thread: a second one's wake-up costs more.
  parallel_ranges(
      c, k * c * taps < (int64_t{1} << 16) ? 1 : threads, [&](int, int64_t lo, int64_t hi) {
        for (int64_t b = 0; b < pl.kb; ++b) {
          const int nk = static_cast<int>(std::min<int64_t>(kLanes, k - b * kLanes));
          for (int64_t ch = lo; ch < hi; ++ch) {
            // Filter l of the block: forward w[b * 16 + l][ch][t]; backward-data w[ch][b * 16 + l]
            // [taps - 1 - t].
            const float* row =
                data ? w + (ch * d.c + b * kLanes) * taps : w + (b * kLanes * d.c + ch) * taps;
            const int64_t ls = data ? taps : d.c * taps;
            float* o = wp + (b * c + ch) * taps * kLanes;
            for (int64_t t0 = 0; t0 < taps; t0 += kLanes) {
              const int nt = static_cast<int>(std::min<int64_t>(kLanes, taps - t0));
              if (!data)
                transpose_block(row + t0, ls, nk, lanes(nt), o + t0 * kLanes, kLanes, nt,
                                lanes(kLanes), nullptr);
              else
                transpose_block(row + taps - t0 - nt, ls, nk, lanes(nt), o + (t0 + nt - 1) * kLanes,
                                -kLanes, nt, lanes(kLanes), nullptr);
            }
          }
        }
      });
}
#endif

// Packs the weights of forward problem pl into wp: filter k, channel c, tap t of the forward
// (data = false) is w[k][c][t]; of the backward-data problem (data = true, filters and channels
// of d swapped) it is w[c][k][taps - 1 - t].
void pack_for(const ConvDesc& d, const Plan& pl, bool data, const float* w, float* wp,
              int threads) {
  const int64_t taps = pl.taps;
#if defined(__x86_64__)
  if (active_simd_path() == SimdPath::avx512) return pack_transposed(d, pl, data, w, wp, threads);
#endif
  if (!data)
    pack_weights(
        d, pl, [&](int64_t k, int64_t c, int64_t t) { return w[(k * d.c + c) * taps + t]; }, wp,
        threads);
  else
    pack_weights(
        data_problem(d), pl,
        [&](int64_t c, int64_t k, int64_t t) { return w[(k * d.c + c) * taps + taps - 1 - t]; }, wp,
        threads);
}

// Backward-weights sizes: pairs (channel, tap), output rows per chunk of dy (within one output
// depth), the pieces of one thread's slice (slab of the chunk, blocked dy chunk, chunk
// positions) and one slot's blocked dw.
struct WeightsPlan {
  Plan pl;
  int64_t q = 0, chunk_p = 0;
  size_t xoff_bytes = 0, dyb_bytes = 0, pos_bytes = 0, dwb_bytes = 0, slice_bytes = 0;
};

// Chunks of about kChunkBytes of blocked dy, whole output rows.
constexpr int64_t kChunkBytes = int64_t{256} << 10;

// The slots' private dw of backward-weights take at most about kSlotBytes in all.
constexpr int64_t kSlotBytes = int64_t{4} << 20;

// Backward-weights' slots for `units` chunks (all images) on `threads` threads: fixed contiguous
// ranges of the chunks, each summed in order into its own blocked dw, the slots' dw summed in
// slot order, so that results depend on the thread count, not on timing. Up to 8 a thread (within
// kSlotBytes) so that the threads claim them as they go (ItemClaims); with fewer than 4 a thread,
// one a thread (one on one thread).
int64_t weights_slots(const WeightsPlan& wp, int64_t units, int threads) {
  if (threads <= 1) return 1;
  const int64_t fit = kSlotBytes / static_cast<int64_t>(wp.dwb_bytes);
  const int64_t most = std::min({units, int64_t{8} * threads, fit});
  return most >= int64_t{4} * threads ? most
                                      : std::max<int64_t>(1, std::min<int64_t>(units, threads));
}

// The backward-weights plan of d.
WeightsPlan make_weights_plan(const ConvDesc& d) {
  WeightsPlan wp;
  const int64_t kb = (d.k + kLanes - 1) / kLanes;
  const int64_t per_row = kb * kLanes * d.out[2] * static_cast<int64_t>(sizeof(float));
  wp.pl = make_plan(d, std::max<int64_t>(1, kChunkBytes / per_row));
  wp.q = d.c * wp.pl.taps;
  wp.chunk_p = wp.pl.rows * d.out[2];
  wp.xoff_bytes = round64(static_cast<size_t>(wp.q) * sizeof(int64_t));
  wp.dyb_bytes = round64(static_cast<size_t>(kb * kLanes * wp.chunk_p) * sizeof(float));
  wp.pos_bytes = round64(static_cast<size_t>(wp.chunk_p) * sizeof(int64_t));
  wp.dwb_bytes = round64(static_cast<size_t>(kb * kLanes * (wp.q + 1)) * sizeof(float));
  wp.slice_bytes = wp.pl.img_bytes + wp.dyb_bytes + wp.pos_bytes;
  return wp;
}

#if defined(__x86_64__)
// acc[l] += sum over positions i < np of dyb[i][l] (one block of 16 filters: the bias gradient);
// with `first` acc is not read.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void add_block_sums(const float* dyb,
                                                                                  int64_t np,
                                                                                  float* acc,
                                                                                  bool first) {
  __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                 _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 4 <= np; i += 4)
    for (int u = 0; u < 4; ++u) s[u] = _mm512_add_ps(s[u], _mm512_load_ps(dyb + (i + u) * kLanes));
  for (; i < np; ++i) s[0] = _mm512_add_ps(s[0], _mm512_load_ps(dyb + i * kLanes));
  const __m512 t = _mm512_add_ps(_mm512_add_ps(s[0], s[1]), _mm512_add_ps(s[2], s[3]));
  _mm512_store_ps(acc, first ? t : _mm512_add_ps(_mm512_load_ps(acc), t));
}
#endif

// Adds rows [r0, r0 + nr) (of one output depth) of image n's dy times their slab img into dwb
// ([kb][q + 1][16], entry q the bias gradient; with `first` dwb is overwritten): dy blocked to
// [kb][position][16] with each position's index in the slab, then the tiles, which prefetch the
// lines of feeds[0] then feeds[1] (the next chunk's x rows and dy rows) spread over the chunk's
// tile calls.
void weights_chunk(const ConvDesc& d, const WeightsPlan& wp, int64_t n, int64_t r0, int64_t nr,
                   const float* dy, const float* img, const int64_t* xoff, float* dyb, int64_t* pos,
                   float* dwb, LineFeed* feeds, bool first) {
#if defined(__x86_64__)
  const Plan& pl = wp.pl;
  const int64_t np = nr * d.out[2], p = kernels::conv_out_volume(d);
  const float* dyn = dy + n * d.k * p + r0 * d.out[2];
  for (int64_t b = 0; b < pl.kb; ++b) {
    const int nk = static_cast<int>(std::min<int64_t>(kLanes, d.k - b * kLanes));
    for (int64_t i = 0; i < np; i += kLanes) {
      const int ni = static_cast<int>(std::min<int64_t>(kLanes, np - i));
      if (nk == kLanes && ni == kLanes)
        transpose_full(dyn + b * kLanes * p + i, p, dyb + (b * wp.chunk_p + i) * kLanes, kLanes,
                       kLanes, lanes(kLanes), nullptr);
      else
        transpose_block(dyn + b * kLanes * p + i, p, nk, lanes(ni),
                        dyb + (b * wp.chunk_p + i) * kLanes, kLanes, ni, lanes(kLanes), nullptr);
    }
  }
  for (int64_t r = 0, i = 0; r < nr; ++r)
    for (int64_t c = 0; c < d.out[2]; ++c) pos[i++] = r * pl.pw + c;
  const float* xs[kTileW];
  const int64_t calls = (pl.kb + 1) / 2 * ((wp.q + kTileW - 1) / kTileW);
  const int64_t per_call = (feeds[0].lines() + feeds[1].lines()) / calls + 1;
  for (int64_t b0 = 0; b0 < pl.kb; b0 += 2) {
    const int v = static_cast<int>(std::min<int64_t>(2, pl.kb - b0));
    for (int64_t q0 = 0; q0 < wp.q; q0 += kTileW) {
      const int j = static_cast<int>(std::min<int64_t>(kTileW, wp.q - q0));
      for (int jj = 0; jj < j; ++jj) xs[jj] = img + xoff[q0 + jj];
      const char *pf, *pf_end;
      feeds[0].take(std::min(np, per_call), &pf, &pf_end);
      if (pf == pf_end) feeds[1].take(std::min(np, per_call), &pf, &pf_end);
      kWeightsTiles[(first * 2 + v - 1) * kTileW + j - 1](
          xs, pos, np, dyb + b0 * wp.chunk_p * kLanes, wp.chunk_p * kLanes,
          dwb + (b0 * (wp.q + 1) + q0) * kLanes, (wp.q + 1) * kLanes, pf, pf_end);
    }
  }
  for (int64_t b = 0; b < pl.kb; ++b)
    add_block_sums(dyb + b * wp.chunk_p * kLanes, np, dwb + (b * (wp.q + 1) + wp.q) * kLanes,
                   first);
#else
  (void)d, (void)wp, (void)n, (void)r0, (void)nr, (void)dy, (void)img, (void)xoff, (void)dyb;
  (void)pos, (void)dwb, (void)feeds, (void)first;
#endif
}

}  // namespace

// Stride 1 and groups 1; backward-data padding within the dilated kernel.
bool conv_v3_direct_fits(const ConvDesc& d, bool data) {
  if (d.groups != 1) return false;
  for (int i = 0; i < 3; ++i) {
    if (d.stride[i] != 1) return false;
    if (data && d.pad[i] > d.dilation[i] * (d.kernel[i] - 1)) return false;
  }
  return true;
}

// Packed weights (unless given), tap offsets and per thread a padded image and a row of
// accumulators.
size_t conv_v3_direct_workspace_bytes(const ConvDesc& d, bool data, int threads, bool packed) {
  const Plan pl = make_plan(data ? data_problem(d) : d);
  return (packed ? 0 : pl.wp_bytes) + pl.off_bytes +
         static_cast<size_t>(std::max(threads, 1)) * pl.thread_bytes() + 64;
}

size_t conv_v3_direct_packed_bytes(const ConvDesc& d, bool data) {
  return make_plan(data ? data_problem(d) : d).wp_bytes;
}

void conv_v3_direct_pack_weights(const ConvDesc& d, bool data, const float* w, float* wp,
                                 int threads) {
  pack_for(d, make_plan(data ? data_problem(d) : d), data, w, wp, threads);
}

// Packs w as [K/16][C][taps][16] unless packed is given, then run_direct.
void conv_v3_direct_forward(const ConvDesc& d, const float* x, const float* w, const float* bias,
                            float* y, void* workspace, int threads, SimdPath, const float* packed) {
  const Plan pl = make_plan(d);
  const Pieces ws = split(pl, workspace, packed);
  if (!packed) pack_for(d, pl, false, w, ws.wp, threads);
  tap_offsets(d, pl, ws.off);
  run_direct(d, pl, x, packed ? packed : ws.wp, ws.off, bias, y, ws.slices, threads);
}

// The forward of the transposed problem on dy with the flipped, transposed weights.
void conv_v3_direct_backward_data(const ConvDesc& d, const float* dy, const float* w, float* dx,
                                  void* workspace, int threads, SimdPath, const float* packed) {
  const ConvDesc t = data_problem(d);
  const Plan pl = make_plan(t);
  const Pieces ws = split(pl, workspace, packed);
  if (!packed) pack_for(d, pl, true, w, ws.wp, threads);
  tap_offsets(t, pl, ws.off);
  run_direct(t, pl, dy, packed ? packed : ws.wp, ws.off, nullptr, dx, ws.slices, threads);
}

// Chunks of backward-weights in all: images x output depths x row chunks a depth.
int64_t weights_units(const ConvDesc& d, const WeightsPlan& wp) {
  return d.n * d.out[0] * ((d.out[1] + wp.pl.rows - 1) / wp.pl.rows);
}

// Pair offsets, per thread a padded image, a dy chunk and its positions, then per slot a dw.
size_t conv_v3_direct_weights_workspace_bytes(const ConvDesc& d, int threads) {
  const WeightsPlan wp = make_weights_plan(d);
  const int nt = std::max(threads, 1);
  const int64_t slots = weights_slots(wp, weights_units(d, wp), nt);
  return wp.xoff_bytes + static_cast<size_t>(nt) * wp.slice_bytes +
         static_cast<size_t>(slots) * wp.dwb_bytes + 64;
}

// Threads claim slots (weights_slots: fixed ranges of chunks), each accumulating the slot's
// blocked dw over its chunks (a slab each) in order; the slots' dw are summed in slot order.
// Claimed rather than split statically: at 2 threads under load (3-5) one thread finished B's
// images 0.57-1.4 ms (15-30% of a call) before the other; with 16 slots claimed, 0.19 ms.
void conv_v3_direct_backward_weights(const ConvDesc& d, const float* x, const float* dy, float* dw,
                                     float* dbias, void* workspace, int threads, SimdPath) {
  const WeightsPlan wp = make_weights_plan(d);
  const Plan& pl = wp.pl;
  char* base = aligned64(workspace);
  int64_t* xoff = reinterpret_cast<int64_t*>(base);
  for (int64_t qq = 0; qq < wp.q; ++qq)
    xoff[qq] = qq / pl.taps * pl.plane + tap_offset(d, pl, qq % pl.taps);
  char* slices = base + wp.xoff_bytes;
  const int nt = std::max(threads, 1);
  const int64_t per_depth = (d.out[1] + pl.rows - 1) / pl.rows, chunks = d.out[0] * per_depth;
  const int64_t units = d.n * chunks, slots = weights_slots(wp, units, nt);
  auto dwb_of = [&](int64_t s) {
    return reinterpret_cast<float*>(slices + static_cast<size_t>(nt) * wp.slice_bytes +
                                    static_cast<size_t>(s) * wp.dwb_bytes);
  };
  const int64_t in_vol = kernels::conv_in_volume(d), p = kernels::conv_out_volume(d);
  std::atomic<int64_t> next{0};
  const int team = static_cast<int>(std::min<int64_t>(nt, slots));
  // A team smaller than asked for (a nested parallel region) runs several shares in turn.
  parallel_ranges(team, team, [&](int tid, int64_t lo, int64_t hi) {
    char* slice = slices + static_cast<size_t>(tid) * wp.slice_bytes;
    float* img = reinterpret_cast<float*>(slice);
    float* dyb = reinterpret_cast<float*>(slice + pl.img_bytes);
    int64_t* pos = reinterpret_cast<int64_t*>(slice + pl.img_bytes + wp.dyb_bytes);
    for (int64_t share = lo; share < hi; ++share) {
      ItemClaims claims(next, slots, team, static_cast<int>(share));
      // Chunk ch: image ch / chunks, block ch % chunks of rows; while one runs, the next one's x
      // rows and dy rows (of this slot or the thread's next one, claimed as the slot's last chunk
      // starts) are prefetched.
      for (int64_t s = claims.first(), s1 = 0; s < slots; s = s1) {
        float* dwb = dwb_of(s);
        const int64_t begin = units * s / slots, end = units * (s + 1) / slots;
        if (begin == end) std::memset(dwb, 0, wp.dwb_bytes);  // no images: nothing stores
        s1 = begin == end ? claims.after(s) : slots;
        for (int64_t ch = begin; ch < end; ++ch) {
          if (ch + 1 == end) s1 = claims.after(s);
          const int64_t n = ch / chunks, od = ch % chunks / per_depth;
          const int64_t oh0 = ch % per_depth * pl.rows, nr = std::min(pl.rows, d.out[1] - oh0);
          pad_slab(d, pl, x + n * d.c * in_vol, od, oh0, nr, img);
          const int64_t ch1 = ch + 1 < end ? ch + 1 : s1 < slots ? units * s1 / slots : units;
          LineFeed feeds[2];
          if (ch1 < units) {
            const int64_t n1 = ch1 / chunks, blk = ch1 % chunks;
            const int64_t oh1 = blk % per_depth * pl.rows, nr1 = std::min(pl.rows, d.out[1] - oh1);
            feeds[0] = slab_source(d, pl, x, n1, blk, per_depth);
            feeds[1] = LineFeed(
                dy + (n1 * d.k * p + blk / per_depth * d.out[1] * d.out[2] + oh1 * d.out[2]), d.k,
                p * static_cast<int64_t>(sizeof(float)), 1, 0,
                nr1 * d.out[2] * static_cast<int64_t>(sizeof(float)));
          }
          weights_chunk(d, wp, n, od * d.out[1] + oh0, nr, dy, img, xoff, dyb, pos, dwb, feeds,
                        ch == begin);
        }
      }
    }
  });
  // Per filter block and run of entries (entry q of a block row holds the bias gradient's
  // partial sums), the slots' 16-lane rows summed in slot order, then written to dw's filters.
  const int64_t rows = wp.q + 1;
  parallel_ranges(pl.kb * rows, nt, [&](int, int64_t lo, int64_t hi) {
    for (int64_t at = lo; at < hi; ++at) {
      const int64_t b = at / rows, qq = at % rows;
      float sum[kLanes];
      for (int l = 0; l < kLanes; ++l) sum[l] = 0.0f;
      for (int64_t s = 0; s < slots; ++s) {
        const float* src = dwb_of(s) + at * kLanes;
        for (int l = 0; l < kLanes; ++l) sum[l] += src[l];
      }
      const int nk = static_cast<int>(std::min<int64_t>(kLanes, d.k - b * kLanes));
      for (int l = 0; l < nk; ++l) {
        if (qq < wp.q)
          dw[(b * kLanes + l) * wp.q + qq] = sum[l];
        else if (dbias)
          dbias[b * kLanes + l] = sum[l];
      }
    }
  });
}

}  // namespace signet::cpu
