#include "kernels/cpu/threads.h"

#include <thread>

namespace signet::cpu {

// See threads.h.
int default_threads() {
#ifdef SIGNET_WITH_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// See threads.h.
void wait_at_least(const std::atomic<int64_t>& v, int64_t target) {
  // 256 pauses last ~1 us (a 10-cycle pause) to ~15 us (Skylake and later, ~140 cycles): about
  // what a claimed piece of work leaves a waiter, far below a scheduler time slice.
  for (int spins = 0; v.load(std::memory_order_acquire) < target; ++spins) {
    if (spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#elif defined(__aarch64__)
      asm volatile("yield");
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace signet::cpu
