// Helpers of the host drivers that chain launches over a sequence (lstm_seq.cu,
// convlstm_fused.cu): the grid of a grid-stride kernel, the initial-state copy, and a macro that
// returns the first failed status.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda::seq_driver {

// Blocks of `threads` for n elements: one thread each up to 4096 blocks, a grid-stride loop
// beyond.
inline int blocks_for(int64_t n, int threads) {
  const int64_t wanted = (n + threads - 1) / threads;
  return int(wanted < 4096 ? wanted : 4096);
}

// Copies n floats from src into dst on the current stream, or zeros dst when src is null.
inline cudaError_t init_state(float* dst, const float* src, int64_t n) {
  const size_t bytes = size_t(n) * sizeof(float);
  if (src) return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, current_stream());
  return cudaMemsetAsync(dst, 0, bytes, current_stream());
}

}  // namespace signet::cuda::seq_driver

// Returns the status of call from the enclosing function when it is not cudaSuccess.
#define SIGNET_SEQ_TRY(call)                    \
  do {                                          \
    const cudaError_t status_ = (call);         \
    if (status_ != cudaSuccess) return status_; \
  } while (0)
