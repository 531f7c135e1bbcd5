#include "kernels/cpu/threads.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::cpu {

int elementwise_default_threads() {
#ifdef SIGNET_WITH_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace signet::cpu
