// One CUDA source, two builds: nvcc for GPUs, the host compiler for the host SIMT mode
// (kernels/cuda/simt/), chosen by defining SIGNET_CUDA_SIMT before the first include. Kernel
// files include this instead of <cuda_runtime.h>, launch with
// launch_kernel(kernel, grid, block, shmem, stream, args...) instead of <<<...>>> (a kernel with
// a grid barrier, cooperative_groups::this_grid().sync(), with launch_cooperative_kernel and the
// same arguments), and declare dynamic shared memory with SIGNET_DYNAMIC_SHARED(type, name).
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
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <tuple>
#include <type_traits>
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

// cudaLaunchCooperativeKernel with the arguments converted to the kernel's parameter types, once
// the whole grid fits on the device at the same time (resident blocks per SM for this block size
// and shared memory, times the SMs): a grid that does not is cudaErrorCooperativeLaunchTooLarge
// before anything runs, never a grid barrier waiting for blocks that cannot start. Returns the
// first failing call's status.
template <class... P, class... A, size_t... I>
cudaError_t launch_cooperative_kernel_impl(void (*kernel)(P...), dim3 grid, dim3 block,
                                           size_t shmem, cudaStream_t stream,
                                           std::index_sequence<I...>, A&&... args) {
  int device = 0, sms = 0, per_sm = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (e == cudaSuccess)
    e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel,
                                                      int(block.x * block.y * block.z), shmem);
  if (e != cudaSuccess) return e;
  if (uint64_t(per_sm) * uint64_t(sms) < uint64_t(grid.x) * grid.y * grid.z)
    return cudaErrorCooperativeLaunchTooLarge;
  std::tuple<std::decay_t<P>...> values(std::forward<A>(args)...);
  void* pointers[] = {static_cast<void*>(&std::get<I>(values))..., nullptr};
  return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), grid, block, pointers,
                                     shmem, stream);
}

// The simt runtime's launch_cooperative_kernel under nvcc (see the impl above).
template <class... P, class... A>
cudaError_t launch_cooperative_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem,
                                      cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A),
                "launch_cooperative_kernel: wrong number of kernel arguments");
  return launch_cooperative_kernel_impl(kernel, grid, block, shmem, stream,
                                        std::index_sequence_for<P...>(), std::forward<A>(args)...);
}

}  // namespace signet
#else
// Host code calling the nvcc-built kernels needs only the runtime API's types.
#include <cuda_runtime_api.h>
#endif
