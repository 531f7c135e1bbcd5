// The CUDA surface for kernels built by the host compiler (the host SIMT execution mode).
//
// Each CUDA thread is a fiber (fiber.h); the fibers of a block run one at a time on one OS worker
// thread, each until it reaches a barrier, a warp collective or its end, and blocks are spread over
// the workers. So the index built-ins and `__shared__` can be thread_local: a worker runs one
// block at a time, and the scheduler sets threadIdx before it resumes a fiber.
//
// Everything lives in namespace signet::simt; kernels/cuda/cuda_compat.h makes it visible to
// the kernel sources. Environment (read once; set_thread_order overrides the order):
//   SIGNET_SIMT_ORDER=forward|reverse|random  order of the threads between two barriers
//   SIGNET_SIMT_SEED=n                        seed of the random order (default 0)
//   SIGNET_SIMT_WORKERS=n                     OS worker threads (default: hardware threads)
//   SIGNET_SIMT_STACK_KB=n                    stack per CUDA thread (default 128)
//   SIGNET_SIMT_PROTECT=0                     let host code read device memory (default: faults)
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/cuda/simt/cuda_api.h"
#include "kernels/cuda/simt/static_shared.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __constant__
#define __launch_bounds__(...)
// A GNU attribute, so that it may follow __shared__'s storage class as it does under nvcc.
#define __align__(n) __attribute__((aligned(n)))
// One copy per worker thread is one copy per block in flight: a worker runs one block at a time.
// All of them sit in one section that the runtime refills with NaN before each block
// (static_shared.h), like dynamic shared memory.
#define __shared__ __attribute__((section(SIGNET_SIMT_SHARED_SECTION))) static thread_local
// `extern __shared__ type name[]` under nvcc: the launch's dynamic shared memory, NaN-filled.
#define SIGNET_DYNAMIC_SHARED(type, name) \
  type* const name = static_cast<type*>(::signet::simt::dynamic_shared())

namespace signet::simt {

struct uint3 {
  unsigned x, y, z;
};

// Launch extents; missing components are 1.
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

constexpr int warpSize = 32;

// Set by the scheduler before it resumes a fiber (threadIdx) or starts a block (the others).
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

// Order in which the threads of a block run from one barrier to the next.
enum class Order { kForward, kReverse, kRandom };
void set_thread_order(Order order);
Order thread_order();

// Block-wide barrier flavours and warp collectives, as the scheduler sees them.
enum class BarrierOp : uint8_t { kSync, kCount, kAnd, kOr, kGrid };
enum class WarpOp : uint8_t {
  kSync,
  kShflIdx,
  kShflUp,
  kShflDown,
  kShflXor,
  kBallot,
  kAny,
  kAll,
  kGather,  // publishes a pointer per lane (the PTX wrappers' warp-wide operand exchange)
};

// Suspends the calling thread until every thread of its block arrives; returns the reduction of
// `pred` that op asks for. Threads that exited or wait elsewhere make it a launch error.
int block_barrier(BarrierOp op, int pred, const char* what, const char* file, int line);
// Suspends the calling lane until every lane in `mask` arrives; returns this lane's result.
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, unsigned arg, int width,
                         const char* what, const char* file, int line);
// Lanes of the calling warp that exist and have not exited.
unsigned active_mask();
// Waits for all 32 lanes of the warp and fills lanes[i] with the pointer lane i passed; the
// pointees stay valid until the warp's next collective (the caller ends with a __syncwarp).
void warp_gather(const void* mine, const void* lanes[32], const char* what, const char* file,
                 int line);
// The launch's dynamic shared memory for the calling block.
void* dynamic_shared();
// Suspends the calling thread until every thread of the grid arrives; only in a cooperative
// launch (launch_cooperative_kernel), elsewhere a launch error.
void grid_sync(const char* file, int line);

void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE());
int __syncthreads_count(int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE());
int __syncthreads_and(int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE());
int __syncthreads_or(int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE());
void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(),
                int line = __builtin_LINE());
unsigned __ballot_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE());
int __any_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
               int line = __builtin_LINE());
int __all_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
               int line = __builtin_LINE());
inline unsigned __activemask() {
  return active_mask();
}

// The grid-wide barrier with CUDA's spelling: cooperative_groups::this_grid().sync().
namespace cooperative_groups {
struct grid_group {
  // Waits for every thread of the grid (a cooperative launch's blocks are all co-resident).
  void sync(const char* file = __builtin_FILE(), int line = __builtin_LINE()) const {
    grid_sync(file, line);
  }
};
// The calling thread's grid.
inline grid_group this_grid() {
  return {};
}
}  // namespace cooperative_groups

// A shuffle moves the bytes of any 4- or 8-byte value through one 64-bit collective.
template <class T>
T shuffle(WarpOp op, const char* what, unsigned mask, T var, unsigned arg, int width,
          const char* file, int line) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffle a 4- or 8-byte value");
  uint64_t bits = 0;
  __builtin_memcpy(&bits, &var, sizeof(T));
  bits = warp_collective(op, mask, bits, arg, width, what, file, line);
  __builtin_memcpy(&var, &bits, sizeof(T));
  return var;
}

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,
              const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return shuffle(WarpOp::kShflIdx, "__shfl_sync", mask, var, unsigned(src_lane), width, file, line);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return shuffle(WarpOp::kShflUp, "__shfl_up_sync", mask, var, delta, width, file, line);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return shuffle(WarpOp::kShflDown, "__shfl_down_sync", mask, var, delta, width, file, line);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                  const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return shuffle(WarpOp::kShflXor, "__shfl_xor_sync", mask, var, unsigned(lane_mask), width, file,
                 line);
}

// A kernel and its arguments, copied at launch as CUDA copies them; run once per CUDA thread.
struct KernelBody {
  virtual ~KernelBody() = default;
  virtual void run() const = 0;
};

template <class... P>
struct KernelCall final : KernelBody {
  template <class... A>
  explicit KernelCall(void (*k)(P...), A&&... a) : kernel(k), args(std::forward<A>(a)...) {}
  void run() const override { std::apply(kernel, args); }
  void (*kernel)(P...);
  std::tuple<std::decay_t<P>...> args;
};

// Checks the configuration (an error shows in cudaGetLastError at once, as in CUDA, and is
// returned) and queues the launch on `stream`; a cooperative one runs all its blocks at once.
cudaError_t enqueue_launch(std::shared_ptr<const KernelBody> body, dim3 grid, dim3 block,
                           size_t shmem, cudaStream_t stream, bool cooperative = false);

// kernel<<<grid, block, shmem, stream>>>(args...) (see cuda_compat.h for the nvcc form).
template <class... P, class... A>
void launch_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
                   A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "launch_kernel: wrong number of kernel arguments");
  enqueue_launch(std::make_shared<KernelCall<P...>>(kernel, std::forward<A>(args)...), grid, block,
                 shmem, stream);
}

// cudaLaunchCooperativeKernel: every block co-resident, so cooperative_groups::this_grid().sync()
// may be called; returns the launch status, cudaErrorCooperativeLaunchTooLarge for a grid of more
// than kMaxCooperativeBlocks blocks.
template <class... P, class... A>
cudaError_t launch_cooperative_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem,
                                      cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A),
                "launch_cooperative_kernel: wrong number of kernel arguments");
  return enqueue_launch(std::make_shared<KernelCall<P...>>(kernel, std::forward<A>(args)...), grid,
                        block, shmem, stream, true);
}

}  // namespace signet::simt

#include "kernels/cuda/simt/intrinsics.h"
