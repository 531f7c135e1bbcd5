// Thread counts and the static work split shared by the CPU kernels.
#pragma once
#include <cstdint>

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::cpu {

// OpenMP's thread count (1 without OpenMP), so callers need not include omp.h.
int default_threads();

// Runs fn(tid, lo, hi) on up to `threads` threads, [lo, hi) a static contiguous share of total.
template <class Fn>
void parallel_ranges(int64_t total, int threads, Fn fn) {
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1 && total > 1)
  {
    const int64_t tid = omp_get_thread_num(), nt = omp_get_num_threads();
    fn(static_cast<int>(tid), total * tid / nt, total * (tid + 1) / nt);
  }
#else
  (void)threads;
  fn(0, int64_t{0}, total);
#endif
}

}  // namespace signet::cpu
