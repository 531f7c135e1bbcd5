// Pack-once / multiply-many SGEMM on the micro-kernels of the packed SGEMM.
#include "kernels/cpu/gemm_prepacked.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/workspace.h"

namespace signet::cpu {
namespace {

using gemm_detail::Blocking;
using gemm_detail::kMinParallelWork;
using gemm_detail::round_up;
using kernels::GemmDesc;

// Floats of one thread's packed A panel (a 64-byte multiple).
int64_t a_panel_floats(const GemmDesc& d, const Blocking& bl) {
  const int64_t kc = std::min<int64_t>(bl.kc, std::max<int64_t>(d.k, 1));
  return round_up(std::min<int64_t>(bl.mc, round_up(std::max<int64_t>(d.m, 1), bl.mr)) * kc, 16);
}

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into slivers of the path's MR rows.
void pack_a_slivers(const GemmDesc& d, const Blocking& bl, const float* a, int64_t i0, int64_t mc,
                    int64_t p0, int64_t kc, float* out) {
  if (bl.mr == 12) return gemm_detail::pack_a<12>(d, a, i0, mc, p0, kc, out, bl.avx512);
  if (bl.mr == 6) return gemm_detail::pack_a<6>(d, a, i0, mc, p0, kc, out, bl.avx512);
  gemm_detail::pack_a<4>(d, a, i0, mc, p0, kc, out, bl.avx512);
}

// Packs rows [p0, p0+kc) x sliver columns [j0, j0+NR) of op(B), zero-padded past n.
void pack_b_one_sliver(const GemmDesc& d, const Blocking& bl, const float* b, int64_t p0,
                       int64_t kc, int64_t j0, float* out) {
  const int cols = static_cast<int>(std::min<int64_t>(bl.nr, d.n - j0));
  if (bl.nr == 32) return gemm_detail::pack_b_sliver<32>(d, b, p0, kc, j0, cols, out, bl.avx512);
  gemm_detail::pack_b_sliver<16>(d, b, p0, kc, j0, cols, out, bl.avx512);
}

// Columns [n0, n1) of C: the loops around the micro-kernel over slivers [s0, s1) of packed B.
void prepacked_columns(const GemmDesc& d, const Blocking& bl, const float* a, const float* pb,
                       float* c, int64_t s0, int64_t s1, float* apack) {
  const float alpha = static_cast<float>(d.alpha);
  const int64_t n_pad = round_up(d.n, bl.nr);
  if (d.k == 0)
    return gemm_detail::scale_c(c, d.ldc, 0, d.m, s0 * bl.nr, std::min(d.n, s1 * bl.nr),
                                static_cast<float>(d.beta));
  for (int64_t pc = 0; pc < d.k; pc += bl.kc) {
    const int64_t kc = std::min<int64_t>(bl.kc, d.k - pc);
    const float beta = pc == 0 ? static_cast<float>(d.beta) : 1.0f;
    for (int64_t ic = 0; ic < d.m; ic += bl.mc) {
      const int64_t mc = std::min<int64_t>(bl.mc, d.m - ic);
      pack_a_slivers(d, bl, a, ic, mc, pc, kc, apack);
      for (int64_t s = s0; s < s1; ++s) {
        const float* bs = pb + pc * n_pad + s * bl.nr * kc;
        const int cols = static_cast<int>(std::min<int64_t>(bl.nr, d.n - s * bl.nr));
        for (int64_t ir = 0; ir < mc; ir += bl.mr) {
          const int rows = static_cast<int>(std::min<int64_t>(bl.mr, mc - ir));
          gemm_detail::multiply_tile(bl, kc, apack + ir * kc, bs, c + (ic + ir) * d.ldc + s * bl.nr,
                                     d.ldc, alpha, beta, rows, cols);
        }
      }
    }
  }
}

// The descriptor of the transposed product C^T (n x m) = op(B)^T (n x k) op(A)^T (k x m).
GemmDesc transposed(const GemmDesc& d) {
  GemmDesc t = d;
  t.m = d.n, t.n = d.m;
  t.trans_a = !d.trans_b, t.lda = d.ldb;
  t.trans_b = !d.trans_a, t.ldb = d.lda;
  return t;
}

// Columns [s0 MR, s1 MR) of C (slivers [s0, s1) of the packed op(B)^T): packs op(A)^T into
// `bpack`, then one micro-kernel call over all of k per MR x NR tile, transposed into C.
void transposed_columns(const GemmDesc& d, const Blocking& bl, const float* a, const float* pbt,
                        float* c, int64_t s0, int64_t s1, float* bpack) {
  const GemmDesc t = transposed(d);
  for (int64_t j0 = 0; j0 < d.m; j0 += bl.nr)
    pack_b_one_sliver(t, bl, a, 0, d.k, j0, bpack + j0 * d.k);
  alignas(64) float tile[gemm_detail::kMaxMr * gemm_detail::kMaxNr];
  for (int64_t s = s0; s < s1; ++s) {
    const int rows = static_cast<int>(std::min<int64_t>(bl.mr, d.n - s * bl.mr));
    for (int64_t j0 = 0; j0 < d.m; j0 += bl.nr) {
      const int cols = static_cast<int>(std::min<int64_t>(bl.nr, d.m - j0));
      bl.kernel(d.k, pbt + s * bl.mr * d.k, bpack + j0 * d.k, tile, bl.nr,
                static_cast<float>(d.alpha), 0.0f);
      sgemm_add_tile_transposed(tile, bl.nr, rows, cols, c + j0 * d.ldc + s * bl.mr, d.ldc,
                                static_cast<float>(d.beta), bl.avx512);
    }
  }
}

// Floats of one thread's packed op(A)^T (a 64-byte multiple).
int64_t bt_panel_floats(const GemmDesc& d, const Blocking& bl) {
  return round_up(round_up(std::max<int64_t>(d.m, 1), bl.nr) * std::max<int64_t>(d.k, 0), 16);
}

}  // namespace

// A transposed copy of the tile (16 x 16 AVX-512 transposes when `avx512`), added column by column.
void sgemm_add_tile_transposed(const float* tile, int nr, int rows, int cols, float* c, int64_t ldc,
                               float beta, bool avx512) {
  alignas(64) float tt[gemm_detail::kMaxNr * 16];
  if (avx512) {
    const float* src[16];
    for (int i = 0; i < 16; ++i) src[i] = tile + (i < rows ? i : 0) * nr;
    gemm_detail::interleave16(src, cols, tt, 16, rows);
  } else {
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) tt[j * 16 + i] = tile[i * nr + j];
  }
  for (int j = 0; j < cols; ++j) {
    float* cj = c + j * ldc;
    const float* tj = tt + j * 16;
    if (beta == 0) {
      for (int i = 0; i < rows; ++i) cj[i] = tj[i];
    } else {
      for (int i = 0; i < rows; ++i) cj[i] = tj[i] + beta * cj[i];
    }
  }
}

// k x n rounded up to whole slivers.
size_t sgemm_packed_b_floats(const GemmDesc& d, SimdPath path) {
  const Blocking bl = gemm_detail::blocking_for(path);
  return static_cast<size_t>(std::max<int64_t>(d.k, 0) *
                             round_up(std::max<int64_t>(d.n, 0), bl.nr));
}

// Each thread packs a contiguous run of slivers through every k-block.
void sgemm_pack_b(const GemmDesc& d, const float* b, float* packed, int threads, SimdPath path) {
  const Blocking bl = gemm_detail::blocking_for(path);
  const int64_t n_pad = round_up(d.n, bl.nr), slivers = n_pad / bl.nr;
  const int nt = d.k * n_pad >= kMinParallelWork ? threads : 1;
  parallel_ranges(slivers, nt, [&](int, int64_t s0, int64_t s1) {
    for (int64_t pc = 0; pc < d.k; pc += bl.kc) {
      const int64_t kc = std::min<int64_t>(bl.kc, d.k - pc);
      for (int64_t s = s0; s < s1; ++s)
        pack_b_one_sliver(d, bl, b, pc, kc, s * bl.nr, packed + pc * n_pad + s * bl.nr * kc);
    }
  });
}

// One packed A panel per thread, +64 for alignment.
size_t sgemm_prepacked_workspace_bytes(const GemmDesc& d, int threads, SimdPath path) {
  const int64_t floats = a_panel_floats(d, gemm_detail::blocking_for(path));
  return static_cast<size_t>(floats) * sizeof(float) * static_cast<size_t>(std::max(threads, 1)) +
         64;
}

// Threads split the slivers of B (the n direction) in contiguous runs; each packs all of A (one
// shared packing of A would need a barrier between packing and multiplying: under load, each
// sync point of the step product cost ~4 ms at t2, bench lstm_step).
void sgemm_prepacked(const GemmDesc& d, const float* a, const float* packed_b, float* c,
                     void* workspace, int threads, SimdPath path) {
  if (d.m <= 0 || d.n <= 0) return;
  const Blocking bl = gemm_detail::blocking_for(path);
  float* ws = aligned64<float>(workspace);
  const int64_t a_floats = a_panel_floats(d, bl), slivers = round_up(d.n, bl.nr) / bl.nr;
  const int nt = d.m * d.n * std::max<int64_t>(d.k, 1) >= kMinParallelWork ? threads : 1;
  parallel_ranges(slivers, nt, [&](int tid, int64_t s0, int64_t s1) {
    if (s0 < s1) prepacked_columns(d, bl, a, packed_b, c, s0, s1, ws + tid * a_floats);
  });
}

// k x n rounded up to whole MR-row slivers of op(B)^T.
size_t sgemm_packed_bt_floats(const GemmDesc& d, SimdPath path) {
  const Blocking bl = gemm_detail::blocking_for(path);
  return static_cast<size_t>(std::max<int64_t>(d.k, 0) *
                             round_up(std::max<int64_t>(d.n, 0), bl.mr));
}

// Each thread packs a contiguous run of MR-row slivers of op(B)^T over all of k. A row-major
// op(B) (the stored B k x n: each k step of a sliver is a short piece of another row) is walked
// in runs of kTransRows rows across all the thread's slivers, so that the rows stay in L2
// (sliver by sliver over all of k it touched a new 4 KiB page on every step: 2.4 ms for the
// 16 MiB W of L1 backward, now 1.6 ms; bench_rnn lstm_step/.../pack_t, t1, loaded machine).
void sgemm_pack_bt(const GemmDesc& d, const float* b, float* packed, int threads, SimdPath path) {
  constexpr int64_t kTransRows = 64;
  const Blocking bl = gemm_detail::blocking_for(path);
  const GemmDesc t = transposed(d);
  const int64_t slivers = round_up(d.n, bl.mr) / bl.mr;
  const int nt = d.k * d.n >= kMinParallelWork ? threads : 1;
  parallel_ranges(slivers, nt, [&](int, int64_t s0, int64_t s1) {
    if (s0 >= s1) return;
    if (!t.trans_a)
      return pack_a_slivers(t, bl, b, s0 * bl.mr, std::min(s1 * bl.mr, d.n) - s0 * bl.mr, 0, d.k,
                            packed + s0 * bl.mr * d.k);
    for (int64_t p0 = 0; p0 < d.k; p0 += kTransRows)
      for (int64_t s = s0; s < s1; ++s)
        pack_a_slivers(t, bl, b, s * bl.mr, std::min<int64_t>(bl.mr, d.n - s * bl.mr), p0,
                       std::min(kTransRows, d.k - p0), packed + s * bl.mr * d.k + p0 * bl.mr);
  });
}

// One packed op(A)^T per thread, +64 for alignment.
size_t sgemm_prepacked_t_workspace_bytes(const GemmDesc& d, int threads, SimdPath path) {
  const int64_t floats = bt_panel_floats(d, gemm_detail::blocking_for(path));
  return static_cast<size_t>(floats) * sizeof(float) * static_cast<size_t>(std::max(threads, 1)) +
         64;
}

// Threads split the MR-row slivers of op(B)^T (the n direction) in contiguous runs; each packs
// all of op(A)^T (m x k: 128 KiB on the LSTM step), so that no barrier is needed.
void sgemm_prepacked_t(const GemmDesc& d, const float* a, const float* packed_bt, float* c,
                       void* workspace, int threads, SimdPath path) {
  if (d.m <= 0 || d.n <= 0) return;
  const Blocking bl = gemm_detail::blocking_for(path);
  float* ws = aligned64<float>(workspace);
  const int64_t b_floats = bt_panel_floats(d, bl), slivers = round_up(d.n, bl.mr) / bl.mr;
  const int nt = d.m * d.n * std::max<int64_t>(d.k, 1) >= kMinParallelWork ? threads : 1;
  parallel_ranges(slivers, nt, [&](int tid, int64_t s0, int64_t s1) {
    if (s0 < s1) transposed_columns(d, bl, a, packed_bt, c, s0, s1, ws + tid * b_floats);
  });
}

// Padded tile elements of the two products.
bool sgemm_prepacked_t_pads_less(const GemmDesc& d, SimdPath path) {
  const Blocking bl = gemm_detail::blocking_for(path);
  return round_up(d.n, bl.mr) * round_up(d.m, bl.nr) < round_up(d.m, bl.mr) * round_up(d.n, bl.nr);
}

}  // namespace signet::cpu
