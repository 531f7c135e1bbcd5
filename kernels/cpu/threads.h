// Thread counts, the static work split and the spin-wait shared by the CPU kernels.
#pragma once
#include <atomic>
#include <cstdint>

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::cpu {

// OpenMP's thread count (1 without OpenMP), so callers need not include omp.h.
int default_threads();

// Waits until v holds at least target (an acquire load: what the threads wrote before their
// release updates of v is visible after). Spins with the CPU's pause hint, then yields the CPU
// between checks, so that a waiter does not hold the core of a thread it waits for.
void wait_at_least(const std::atomic<int64_t>& v, int64_t target);

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
