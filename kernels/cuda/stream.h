// The stream the kernel launchers and copies of kernels/cuda use: one per host thread, the
// default stream until set. The engine sets it through the backend table's set_stream
// (engine/cuda_stream.h); the nvcc and the simt build each keep their own.
#pragma once
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// The calling host thread's current stream (nullptr: the default stream).
cudaStream_t current_stream();
// Makes stream the calling host thread's current stream.
void set_current_stream(cudaStream_t stream);

}  // namespace signet::cuda
