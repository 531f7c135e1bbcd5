// One CUDA source, two builds: nvcc for GPUs, the host compiler for the host SIMT mode
// (kernels/cuda/simt/), chosen by defining SIGNET_CUDA_SIMT before the first include. Kernel
// files include this instead of <cuda_runtime.h>, launch with
// launch_kernel(kernel, grid, block, shmem, stream, args...) instead of <<<...>>>, and declare
// dynamic shared memory with SIGNET_DYNAMIC_SHARED(type, name).
#pragma once
#if defined(SIGNET_CUDA_SIMT)
#include "kernels/cuda/simt/runtime.h"

// The host build renames namespace signet::cuda to signet::simt_cuda, so the nvcc and the simt
// build of a kernel file can link into one program, and lets the kernels there see the runtime.
#define cuda simt_cuda
namespace signet::simt_cuda {
using namespace ::signet::simt;
}
#elif defined(__CUDACC__)
#include <cuda_runtime.h>

#include <utility>

#define SIGNET_DYNAMIC_SHARED(type, name) extern __shared__ type name[]

namespace signet {

// kernel<<<grid, block, shmem, stream>>>(args...).
template <class... P, class... A>
void launch_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
                   A&&... args) {
  // clang-format would split the chevrons of a launch in a .h file.
  // clang-format off
  kernel<<<grid, block, shmem, stream>>>(std::forward<A>(args)...);
  // clang-format on
}

}  // namespace signet
#else
// Host code calling the nvcc-built kernels needs only the runtime API's types.
#include <cuda_runtime_api.h>
#endif
