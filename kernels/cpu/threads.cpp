#include "kernels/cpu/threads.h"

namespace signet::cpu {

int default_threads() {
#ifdef SIGNET_WITH_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace signet::cpu
