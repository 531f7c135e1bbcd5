// Pack-once / multiply-many SGEMM on the micro-kernels of the packed SGEMM.
#include "kernels/cpu/gemm_prepacked.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/threads.h"

namespace signet::cpu {
namespace {

using gemm_detail::Blocking;
using gemm_detail::round_up;
using kernels::GemmDesc;

// Below this many multiply-adds one thread is faster than waking the others.
constexpr int64_t kMinParallelWork = int64_t{1} << 20;

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
  alignas(64) float edge[gemm_detail::kMaxMr * gemm_detail::kMaxNr];
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
          float* cij = c + (ic + ir) * d.ldc + s * bl.nr;
          if (rows == bl.mr && cols == bl.nr) {
            bl.kernel(kc, apack + ir * kc, bs, cij, d.ldc, alpha, beta);
          } else {
            bl.kernel(kc, apack + ir * kc, bs, edge, bl.nr, 1.0f, 0.0f);
            gemm_detail::store_edge(edge, bl.nr, rows, cols, cij, d.ldc, alpha, beta);
          }
        }
      }
    }
  }
}

}  // namespace

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
  const uintptr_t p = reinterpret_cast<uintptr_t>(workspace);
  float* ws = reinterpret_cast<float*>((p + 63) / 64 * 64);
  const int64_t a_floats = a_panel_floats(d, bl), slivers = round_up(d.n, bl.nr) / bl.nr;
  const int nt = d.m * d.n * std::max<int64_t>(d.k, 1) >= kMinParallelWork ? threads : 1;
  parallel_ranges(slivers, nt, [&](int tid, int64_t s0, int64_t s1) {
    if (s0 < s1) prepacked_columns(d, bl, a, packed_b, c, s0, s1, ws + tid * a_floats);
  });
}

}  // namespace signet::cpu
