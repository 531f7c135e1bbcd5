// y = alpha * x + y on the GPU: the first kernel, proving the sm_80/sm_90 build.
#pragma once
#include "kernels/cuda/cuda_compat.h"

#include <cstdint>

namespace signet::cuda {

// Launches y[i] += alpha * x[i] for i < n on `stream`; x and y are device pointers.
void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);

}  // namespace signet::cuda
