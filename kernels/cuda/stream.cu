#include "kernels/cuda/cuda_compat.h"

#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

// This host thread's current stream.
thread_local cudaStream_t current = nullptr;

}  // namespace

cudaStream_t current_stream() {
  return current;
}

void set_current_stream(cudaStream_t stream) {
  current = stream;
}

}  // namespace signet::cuda
