// Each CUDA primitive of the host SIMT mode against the semantics the CUDA C++ Programming Guide
// and the PTX ISA document for it.
// The kernels below are built for the host SIMT mode (see kernels/cuda/cuda_compat.h).
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cuda/cuda_compat.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {
namespace {

// Launches on the default stream and waits; returns the synchronising call's error.
template <class... P, class... A>
cudaError_t run(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem, A... args) {
  launch_kernel(kernel, grid, block, shmem, nullptr, args...);
  const cudaError_t launch = cudaGetLastError();
  return launch != cudaSuccess ? launch : cudaDeviceSynchronize();
}

// Linear thread index within the block, and the lane within its warp.
__device__ unsigned linear_tid() {
  return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}
__device__ unsigned lane() {
  return linear_tid() % 32;
}

__global__ void record_indices(unsigned* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
  unsigned* o = out + 10 * (block * per_block + linear_tid());
  const unsigned v[10] = {threadIdx.x, threadIdx.y, threadIdx.z, blockIdx.x, blockIdx.y,
                          blockIdx.z,  blockDim.x,  blockDim.y,  blockDim.z, gridDim.x};
  for (int i = 0; i < 10; ++i) o[i] = v[i];
}

TEST(SimtPrimitives, IndexBuiltinsPerThreadAndBlock) {
  const dim3 grid(2, 3, 2), block(4, 2, 3);
  const unsigned threads = 2 * 3 * 2 * 4 * 2 * 3;
  DeviceBuffer<unsigned> out(10 * threads);
  ASSERT_EQ(run(record_indices, grid, block, 0, out.get()), cudaSuccess);
  const std::vector<unsigned> h = out.read();
  unsigned i = 0;
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 3; ++by)
      for (unsigned bx = 0; bx < 2; ++bx)
        for (unsigned tz = 0; tz < 3; ++tz)
          for (unsigned ty = 0; ty < 2; ++ty)
            for (unsigned tx = 0; tx < 4; ++tx, ++i) {
              const std::vector<unsigned> want = {tx, ty, tz, bx, by, bz, 4, 2, 3, 2};
              EXPECT_EQ(std::vector<unsigned>(h.begin() + 10 * i, h.begin() + 10 * i + 10), want)
                  << "thread " << i;
            }
}

// Every lane contributes 100 * lane + 7 and records what each shuffle flavour returns.
__global__ void shuffles(int* out, int width) {
  const int v = 100 * int(lane()) + 7;
  int* o = out + 4 * linear_tid();
  o[0] = __shfl_sync(0xffffffffu, v, int(lane()) + 3, width);
  o[1] = __shfl_up_sync(0xffffffffu, v, 3, width);
  o[2] = __shfl_down_sync(0xffffffffu, v, 5, width);
  o[3] = __shfl_xor_sync(0xffffffffu, v, 12, width);
}

TEST(SimtPrimitives, ShufflesFollowWidthAndRangeRules) {
  for (int width : {32, 16, 8}) {
    DeviceBuffer<int> out(4 * 64);
    ASSERT_EQ(run(shuffles, 1, 64, 0, out.get(), width), cudaSuccess);
    const std::vector<int> h = out.read();
    auto value = [](int l) { return 100 * l + 7; };
    for (int t = 0; t < 64; ++t) {
      const int l = t % 32, start = l / width * width;
      // __shfl_sync: srcLane beyond the segment wraps modulo width.
      EXPECT_EQ(h[4 * t + 0], value(start + (l + 3) % width)) << "idx width " << width;
      // __shfl_up_sync: lanes whose source falls below the segment keep their own value.
      EXPECT_EQ(h[4 * t + 1], l - 3 >= start ? value(l - 3) : value(l)) << "up width " << width;
      // __shfl_down_sync: lanes whose source falls beyond the segment keep their own value.
      EXPECT_EQ(h[4 * t + 2], l + 5 < start + width ? value(l + 5) : value(l))
          << "down width " << width;
      // __shfl_xor_sync: earlier segments are reachable, later ones return the own value.
      EXPECT_EQ(h[4 * t + 3], (l ^ 12) < start + width ? value(l ^ 12) : value(l))
          << "xor width " << width << " lane " << l;
    }
  }
}

// A butterfly sum in double: 64-bit values shuffle whole.
__global__ void butterfly_sum(double* out) {
  double v = 0.5 + lane();
  for (int m = 16; m > 0; m /= 2) v += __shfl_xor_sync(0xffffffffu, v, m);
  out[linear_tid()] = v;
}

TEST(SimtPrimitives, ButterflyReductionOfDoubles) {
  DeviceBuffer<double> out(32);
  ASSERT_EQ(run(butterfly_sum, 1, 32, 0, out.get()), cudaSuccess);
  for (double v : out.read()) EXPECT_EQ(v, 16.0 + 31.0 * 32 / 2);
}

// Ballot, any, all and the active mask, in a block whose second warp has only 8 lanes.
__global__ void votes(unsigned* out) {
  const unsigned l = lane();
  unsigned* o = out + 5 * linear_tid();
  o[0] = __ballot_sync(0xffffffffu, l % 3 == 0);
  o[1] = unsigned(__any_sync(0xffffffffu, l == 5));
  o[2] = unsigned(__all_sync(0xffffffffu, l < 31));
  o[3] = __activemask();
  o[4] = __ballot_sync(0x0000ffffu | (0xffffu << 16), 1);
}

TEST(SimtPrimitives, BallotBitOrderAndPartialWarps) {
  DeviceBuffer<unsigned> out(5 * 40);
  ASSERT_EQ(run(votes, 1, 40, 0, out.get()), cudaSuccess);
  const std::vector<unsigned> h = out.read();
  unsigned every_third = 0;
  for (int l = 0; l < 32; l += 3) every_third |= 1u << l;  // bit i is lane i's predicate
  for (int t = 0; t < 40; ++t) {
    const bool full = t < 32;
    EXPECT_EQ(h[5 * t + 0], full ? every_third : every_third & 0xffu) << t;
    EXPECT_EQ(h[5 * t + 1], full ? 1u : 1u) << t;  // lane 5 exists in both warps
    EXPECT_EQ(h[5 * t + 2], full ? 0u : 1u) << t;  // the 8-lane warp has no lane 31
    EXPECT_EQ(h[5 * t + 3], full ? 0xffffffffu : 0xffu) << t;
    EXPECT_EQ(h[5 * t + 4], full ? 0xffffffffu : 0xffu) << t;
  }
}

// Half the warp synchronises on its own mask while the other half has already left.
__global__ void half_warp_sync(int* out) {
  if (lane() >= 16) return;
  out[lane()] = 1;
  __syncwarp(0x0000ffffu);
  const int next = out[(lane() + 1) % 16];
  __syncwarp(0x0000ffffu);
  out[lane()] += next;
}

TEST(SimtPrimitives, SyncwarpWithSubsetMask) {
  DeviceBuffer<int> out(std::vector<int>(16, 0));
  ASSERT_EQ(run(half_warp_sync, 1, 32, 0, out.get()), cudaSuccess);
  for (int v : out.read()) EXPECT_EQ(v, 2);
}

__global__ void barrier_reductions(int* out) {
  const int t = int(linear_tid());
  const int count = __syncthreads_count(t % 7 == 0);
  const int all = __syncthreads_and(t < 1000);
  const int none = __syncthreads_and(t != 50);
  const int any = __syncthreads_or(t == 99);
  const int nobody = __syncthreads_or(0);
  int* o = out + 5 * t;
  o[0] = count;
  o[1] = all;
  o[2] = none;
  o[3] = any;
  o[4] = nobody;
}

TEST(SimtPrimitives, BarrierVariantsReduceOverTheBlock) {
  DeviceBuffer<int> out(5 * 100);
  ASSERT_EQ(run(barrier_reductions, 1, 100, 0, out.get()), cudaSuccess);
  const std::vector<int> h = out.read();
  for (int t = 0; t < 100; ++t) {
    EXPECT_EQ(h[5 * t + 0], 15);  // 0, 7, ..., 98
    EXPECT_NE(h[5 * t + 1], 0);
    EXPECT_EQ(h[5 * t + 2], 0);
    EXPECT_NE(h[5 * t + 3], 0);
    EXPECT_EQ(h[5 * t + 4], 0);
  }
}

// CUDA asks only the non-exited lanes of a mask to arrive: lanes 20 to 31 leave, the rest vote
// and synchronise with the full mask.
__global__ void full_mask_after_exits(unsigned* out) {
  if (lane() >= 20) return;
  const unsigned votes = __ballot_sync(0xffffffffu, 1);
  __syncwarp();
  out[lane()] = votes;
}

TEST(SimtPrimitives, ExitedLanesNeedNotArrive) {
  DeviceBuffer<unsigned> out(20);
  ASSERT_EQ(run(full_mask_after_exits, 1, 32, 0, out.get()), cudaSuccess);
  for (unsigned v : out.read()) EXPECT_EQ(v, 0xfffffu);
}

// Lane 0 reads lane 16, which its mask leaves out (lane 16 is busy with its own half-warp
// collective): undefined in CUDA, an error here.
__global__ void read_outside_mask(int* out) {
  if (lane() < 16)
    out[lane()] = __shfl_sync(0x0000ffffu, int(lane()), 16 + int(lane()));
  else
    __syncwarp(0xffff0000u);
}

TEST(SimtPrimitives, ShuffleFromOutsideTheMaskIsAnError) {
  DeviceBuffer<int> out(16);
  EXPECT_EQ(run(read_outside_mask, 1, 32, 0, out.get()), cudaErrorLaunchFailure);
  EXPECT_NE(last_error_detail().find("lane 0 reads lane 16, which is not in the mask"),
            std::string::npos)
      << last_error_detail();
  cudaGetLastError();
}

// Every thread of every block hits the same few words; blocks run on concurrent OS threads.
__global__ void contended_atomics(int* i, float* f, unsigned* u, unsigned long long* c) {
  const int g = int(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(&i[0], 1);
  atomicAdd(&f[0], 1.0f);
  atomicMax(&i[1], g);
  atomicMin(&i[2], -g);
  atomicSub(&i[3], 2);
  atomicInc(&u[0], 99u);  // wraps to 0 after 99
  atomicOr(&u[1], 1u << (g % 32));
  // A compare-and-swap loop increments: it only succeeds on the value it last saw.
  unsigned long long old = 0, seen;
  while ((seen = atomicCAS(&c[0], old, old + 1)) != old) old = seen;
  if (g == 0) atomicExch(&f[1], 42.5f);
}

TEST(SimtPrimitives, AtomicsUnderContention) {
  const int blocks = 64, threads = 128, n = blocks * threads;
  DeviceBuffer<int> i(std::vector<int>{0, -1, 1, 0});
  DeviceBuffer<float> f(std::vector<float>{0.0f, 0.0f});
  DeviceBuffer<unsigned> u(std::vector<unsigned>{0, 0});
  DeviceBuffer<unsigned long long> c(std::vector<unsigned long long>{0});
  ASSERT_EQ(run(contended_atomics, blocks, threads, 0, i.get(), f.get(), u.get(), c.get()),
            cudaSuccess);
  EXPECT_EQ(i.read(), (std::vector<int>{n, n - 1, -(n - 1), -2 * n}));
  EXPECT_EQ(f.read(), (std::vector<float>{float(n), 42.5f}));  // integers are exact in float
  EXPECT_EQ(u.read(), (std::vector<unsigned>{unsigned(n % 100), 0xffffffffu}));
  EXPECT_EQ(c.read()[0], static_cast<unsigned long long>(n));
}

// Reads dynamic shared memory before writing it; the runtime fills it with NaN per block.
__global__ void read_fresh_shared(float* out) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  out[blockIdx.x * blockDim.x + threadIdx.x] = smem[threadIdx.x];
  smem[threadIdx.x] = 1.0f;  // the next block on this worker must not see it
}

// The same in doubles: two fill words make a double NaN too.
__global__ void read_fresh_shared_double(double* out) {
  SIGNET_DYNAMIC_SHARED(double, smem);
  out[blockIdx.x * blockDim.x + threadIdx.x] = smem[threadIdx.x];
  smem[threadIdx.x] = 1.0;
}

TEST(SimtPrimitives, DynamicSharedMemoryStartsAsNaN) {
  DeviceBuffer<float> out(8 * 32);
  ASSERT_EQ(run(read_fresh_shared, 8, 32, 32 * sizeof(float), out.get()), cudaSuccess);
  for (float v : out.read()) EXPECT_TRUE(std::isnan(v));
  DeviceBuffer<double> out_double(8 * 32);
  ASSERT_EQ(run(read_fresh_shared_double, 8, 32, 32 * sizeof(double), out_double.get()),
            cudaSuccess);
  for (double v : out_double.read()) EXPECT_TRUE(std::isnan(v)) << v;
}

// Planted bug: reads static shared memory (a float array at an odd offset and an aligned double
// array) before any write, then writes 1, which a later block on the same worker must not see.
__global__ void read_fresh_static_shared(float* f_out, double* d_out) {
  __shared__ float f[33];
  __shared__ __align__(16) double d[32];
  f_out[blockIdx.x * blockDim.x + threadIdx.x] = f[threadIdx.x + 1];
  d_out[blockIdx.x * blockDim.x + threadIdx.x] = d[threadIdx.x];
  f[threadIdx.x + 1] = 1.0f;
  d[threadIdx.x] = 1.0;
}

TEST(SimtPrimitives, StaticSharedMemoryStartsAsNaNInEveryBlock) {
  // More blocks than workers: some worker runs two blocks, the second after the first wrote 1.
  const unsigned blocks = 2 * std::max(1u, std::thread::hardware_concurrency()) + 2;
  DeviceBuffer<float> f(blocks * 32);
  DeviceBuffer<double> d(blocks * 32);
  for (int launch = 0; launch < 2; ++launch) {
    ASSERT_EQ(run(read_fresh_static_shared, blocks, 32, 0, f.get(), d.get()), cudaSuccess);
    for (float v : f.read()) ASSERT_TRUE(std::isnan(v)) << v;
    for (double v : d.read()) ASSERT_TRUE(std::isnan(v)) << v;
  }
  EXPECT_GE(simt::static_shared_bytes(), 33 * sizeof(float) + 32 * sizeof(double));
}

// Static __shared__ is one copy per block in flight: each block sees only its own writes, even
// with several blocks running at once and threads switching between them.
__global__ void shared_per_block(unsigned* out) {
  __shared__ unsigned tile[64];
  tile[threadIdx.x] = blockIdx.x;
  __syncthreads();
  unsigned sum = 0;
  for (int k = 0; k < 4; ++k) {
    sum += tile[(threadIdx.x + 17 * k) % 64];
    __syncthreads();
  }
  out[blockIdx.x * 64 + threadIdx.x] = sum;
}

TEST(SimtPrimitives, StaticSharedIsPerBlock) {
  DeviceBuffer<unsigned> out(200 * 64);
  ASSERT_EQ(run(shared_per_block, 200, 64, 0, out.get()), cudaSuccess);
  const std::vector<unsigned> h = out.read();
  for (unsigned i = 0; i < h.size(); ++i) ASSERT_EQ(h[i], 4 * (i / 64)) << i;
}

// Integer and float intrinsics with exactly known answers.
__global__ void integer_intrinsics(int* out) {
  out[0] = __popc(0xf0f0u);
  out[1] = __clz(1);
  out[2] = __ffs(0x50);
  out[3] = int(__brev(1u) >> 31);
  out[4] = __float2int_rn(2.5f);
  out[5] = __float2int_rn(3.5f);
  out[6] = __float_as_int(1.0f);
  out[7] = int(__umulhi(0x80000000u, 6u));
  out[8] = min(3, 7u) + max(-2, 5);
  out[9] = int(__saturatef(1.5f)) + int(rsqrtf(4.0f) * 4.0f);
}

TEST(SimtPrimitives, IntrinsicsMatchCuda) {
  DeviceBuffer<int> out(10);
  ASSERT_EQ(run(integer_intrinsics, 1, 1, 0, out.get()), cudaSuccess);
  EXPECT_EQ(out.read(), (std::vector<int>{8, 31, 5, 1, 2, 4, 0x3f800000, 3, 8, 3}));
}

// A lane that names itself out of the mask is a programming error the runtime reports.
__global__ void mask_without_self(int* out) {
  out[lane()] = __shfl_sync(0x1u, 1, 0);
}

TEST(SimtPrimitives, MaskWithoutCallingLaneIsAnError) {
  DeviceBuffer<int> out(32);
  EXPECT_EQ(run(mask_without_self, 1, 32, 0, out.get()), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_NE(last_error_detail().find("the mask does not name the calling lane"), std::string::npos)
      << last_error_detail();
}

}  // namespace
}  // namespace signet::cuda
