// v3 SGEMM: packed panels from the caller's workspace, cache blocking, register-tiled kernels.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/workspace.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::cpu {
namespace {

using gemm_detail::Blocking;
using gemm_detail::kMinParallelWork;
using gemm_detail::multiply_tile;
using gemm_detail::pack_a;
using gemm_detail::pack_b;
using gemm_detail::round_up;
using gemm_detail::scale_c;
using kernels::GemmDesc;

// Floats of packed A and packed B one thread needs for d under blocking bl (64-byte multiples).
void panel_floats(const GemmDesc& d, const Blocking& bl, int64_t* a_floats, int64_t* b_floats) {
  const int64_t kc = std::min<int64_t>(bl.kc, std::max<int64_t>(d.k, 1));
  *a_floats = round_up(std::min<int64_t>(bl.mc, round_up(d.m, bl.mr)) * kc, 16);
  *b_floats = round_up(std::min<int64_t>(bl.nc, round_up(d.n, bl.nr)) * kc, 16);
}

// One thread's block C[m0:m1, n0:n1] of one batch item: the five loops around the micro-kernel.
template <int MR, int NR>
void packed_block(const GemmDesc& d, const Blocking& bl, const float* a, const float* b, float* c,
                  int64_t m0, int64_t m1, int64_t n0, int64_t n1, float* apack, float* bpack) {
  const float alpha = static_cast<float>(d.alpha);
  if (d.k == 0) return scale_c(c, d.ldc, m0, m1, n0, n1, static_cast<float>(d.beta));
  for (int64_t jc = n0; jc < n1; jc += bl.nc) {
    const int64_t nc = std::min<int64_t>(bl.nc, n1 - jc);
    for (int64_t pc = 0; pc < d.k; pc += bl.kc) {
      const int64_t kc = std::min<int64_t>(bl.kc, d.k - pc);
      const float beta = pc == 0 ? static_cast<float>(d.beta) : 1.0f;
      pack_b<NR>(d, b, pc, kc, jc, nc, bpack, bl.avx512);
      for (int64_t ic = m0; ic < m1; ic += bl.mc) {
        const int64_t mc = std::min<int64_t>(bl.mc, m1 - ic);
        pack_a<MR>(d, a, ic, mc, pc, kc, apack, bl.avx512);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            multiply_tile(bl, kc, apack + ir * kc, bpack + jr * kc, c + (ic + ir) * d.ldc + jc + jr,
                          d.ldc, alpha, beta, rows, cols);
          }
        }
      }
    }
  }
}

// Thread tid's share of C: the longer of m and n split into nt runs of whole MR/NR tiles (each
// thread packs all of the other operand; B's pack is the cheaper one, so ties split m).
void thread_range(const GemmDesc& d, const Blocking& bl, int tid, int nt, int64_t* m0, int64_t* m1,
                  int64_t* n0, int64_t* n1) {
  *m0 = 0, *m1 = d.m, *n0 = 0, *n1 = d.n;
  const bool split_m = d.m >= d.n && d.m >= int64_t{bl.mr} * nt;
  const int64_t q = split_m ? bl.mr : bl.nr, len = split_m ? d.m : d.n;
  const int64_t units = (len + q - 1) / q;
  const int64_t lo = std::min(len, units * tid / nt * q);
  const int64_t hi = std::min(len, units * (tid + 1) / nt * q);
  if (split_m) {
    *m0 = lo, *m1 = hi;
  } else {
    *n0 = lo, *n1 = hi;
  }
}

// The whole batched product on one path: each thread owns a fixed block of every batch item.
template <int MR, int NR>
void packed_all(const GemmDesc& d, const float* a, const float* b, float* c, float* ws, int threads,
                const Blocking& bl) {
  int64_t a_floats, b_floats;
  panel_floats(d, bl, &a_floats, &b_floats);
  const bool parallel =
      threads > 1 && d.batch * d.m * d.n * std::max<int64_t>(d.k, 1) >= kMinParallelWork;
  const int nt_req = parallel ? threads : 1;
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(nt_req)
#endif
  {
#ifdef SIGNET_WITH_OPENMP
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int tid = 0, nt = 1;
    (void)nt_req;
#endif
    float* apack = ws + tid * (a_floats + b_floats);
    float* bpack = apack + a_floats;
    int64_t m0, m1, n0, n1;
    thread_range(d, bl, tid, nt, &m0, &m1, &n0, &n1);
    for (int64_t p = 0; p < d.batch && m0 < m1 && n0 < n1; ++p)
      packed_block<MR, NR>(d, bl, a + p * d.stride_a, b + p * d.stride_b, c + p * d.stride_c, m0,
                           m1, n0, n1, apack, bpack);
  }
}

}  // namespace

// The largest need over the paths, so one workspace fits whichever path runs; +64 for alignment.
size_t sgemm_workspace_bytes(const GemmDesc& d, int threads) {
  int64_t most = 0;
  for (SimdPath path : {SimdPath::portable, SimdPath::avx2, SimdPath::avx512}) {
    int64_t a_floats, b_floats;
    panel_floats(d, gemm_detail::blocking_for(path), &a_floats, &b_floats);
    most = std::max(most, a_floats + b_floats);
  }
  return static_cast<size_t>(most) * sizeof(float) * static_cast<size_t>(std::max(threads, 1)) + 64;
}

// Aligns the workspace to 64 bytes and runs the instantiation for the path's register tile.
void sgemm_v3_packed(const GemmDesc& d, const float* a, const float* b, float* c, void* workspace,
                     int threads, SimdPath path) {
  if (d.m <= 0 || d.n <= 0 || d.batch <= 0) return;
  float* ws = aligned64<float>(workspace);
  const Blocking bl = gemm_detail::blocking_for(path);
  if (bl.mr == 12) return packed_all<12, 32>(d, a, b, c, ws, threads, bl);
  if (bl.mr == 6) return packed_all<6, 16>(d, a, b, c, ws, threads, bl);
  packed_all<4, 16>(d, a, b, c, ws, threads, bl);
}

}  // namespace signet::cpu
