// The thread count of the CPU elementwise kernels (dropout, optimiser updates).
#pragma once

namespace signet::cpu {

// The threads a kernel uses when the caller has no preference (OpenMP's maximum, else 1).
int elementwise_default_threads();

}  // namespace signet::cpu
