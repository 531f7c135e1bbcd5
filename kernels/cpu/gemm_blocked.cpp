// v2 SGEMM: tiled loops over (i, k, j) so tiles of A, B and C stay in cache; no packing.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm.h"

namespace signet::cpu {
namespace {

using kernels::GemmDesc;

// Tile sizes: a 64 x 256 block of C rows and a 256-deep slice of k.
constexpr int64_t kTileM = 64, kTileN = 256, kTileK = 256;

// One C tile [i0,i1) x [j0,j1) of one batch item: C = beta C, then += alpha op(A) op(B).
void blocked_tile(const GemmDesc& d, const float* a, const float* b, float* c, int64_t i0,
                  int64_t i1, int64_t j0, int64_t j1) {
  const float alpha = static_cast<float>(d.alpha), beta = static_cast<float>(d.beta);
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = j0; j < j1; ++j) c[i * d.ldc + j] = beta == 0 ? 0.0f : beta * c[i * d.ldc + j];
  for (int64_t l0 = 0; l0 < d.k; l0 += kTileK) {
    const int64_t l1 = std::min(d.k, l0 + kTileK);
    for (int64_t i = i0; i < i1; ++i) {
      float* ci = c + i * d.ldc;
      for (int64_t l = l0; l < l1; ++l) {
        const float ail = alpha * (d.trans_a ? a[l * d.lda + i] : a[i * d.lda + l]);
        if (d.trans_b) {
          for (int64_t j = j0; j < j1; ++j) ci[j] += ail * b[j * d.ldb + l];
        } else {
          const float* bl = b + l * d.ldb;
          for (int64_t j = j0; j < j1; ++j) ci[j] += ail * bl[j];
        }
      }
    }
  }
}

}  // namespace

// Tiles of C are shared statically among the threads; each tile is computed by one thread.
void sgemm_v2_blocked(const GemmDesc& d, const float* a, const float* b, float* c, int threads) {
  const int64_t tm = (d.m + kTileM - 1) / kTileM, tn = (d.n + kTileN - 1) / kTileN;
  const int64_t tiles = d.batch * tm * tn;
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel for schedule(static) num_threads(std::max(threads, 1))
#else
  (void)threads;
#endif
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t p = t / (tm * tn), i0 = t / tn % tm * kTileM, j0 = t % tn * kTileN;
    blocked_tile(d, a + p * d.stride_a, b + p * d.stride_b, c + p * d.stride_c, i0,
                 std::min(d.m, i0 + kTileM), j0, std::min(d.n, j0 + kTileN));
  }
}

}  // namespace signet::cpu
