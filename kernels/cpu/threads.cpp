#include "kernels/cpu/threads.h"

#include <thread>

namespace signet::cpu {

int default_threads() {
#ifdef SIGNET_WITH_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void wait_at_least(const std::atomic<int64_t>& v, int64_t target) {
  // ~256 pauses is some 10-40 us on current x86 cores: longer than a claimed piece of work
  // usually leaves a waiter, shorter than a scheduler time slice.
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
