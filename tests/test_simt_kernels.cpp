// Kernels written as for a GPU, run in the host SIMT mode against CPU loops under each thread
// order, and planted bugs that the mode must expose: races that one order hides and another
// shows, barriers that not every thread reaches, shuffles naming lanes that have exited.
// The kernels below are built for the host SIMT mode (see kernels/cuda/cuda_compat.h).
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_compat.h"
#include "tests/test_simt_buffer.h"
#include "tests/test_simt_order.h"

namespace signet::cuda {
namespace {

constexpr int kThreads = 256;

// Block sums: a grid-stride loop, a shared-memory tree down to one warp, then shuffles.
__global__ void block_sum(const float* in, float* partial, int n) {
  __shared__ float sdata[kThreads];
  const int t = int(threadIdx.x);
  float v = 0.0f;
  for (int i = int(blockIdx.x) * kThreads + t; i < n; i += int(gridDim.x) * kThreads) v += in[i];
  sdata[t] = v;
  __syncthreads();
  for (int s = kThreads / 2; s >= 32; s /= 2) {
    if (t < s) sdata[t] += sdata[t + s];
    __syncthreads();
  }
  if (t < 32) {
    v = sdata[t];
    for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
    if (t == 0) partial[blockIdx.x] = v;
  }
}

// The planted bug: the tree loop lacks its __syncthreads.
__global__ void block_sum_missing_sync(const float* in, float* partial, int n) {
  __shared__ float sdata[kThreads];
  const int t = int(threadIdx.x);
  sdata[t] = int(blockIdx.x) * kThreads + t < n ? in[blockIdx.x * kThreads + t] : 0.0f;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2)
    if (t < s) sdata[t] += sdata[t + s];
  if (t == 0) partial[blockIdx.x] = sdata[0];
}

// Sums `in` with two launches of `kernel` (blocks, then the block sums).
float gpu_sum(void (*kernel)(const float*, float*, int), const std::vector<float>& in, int blocks) {
  DeviceBuffer<float> d_in(in), partial(static_cast<size_t>(blocks)), total(1);
  launch_kernel(kernel, blocks, kThreads, 0, nullptr, d_in.get(), partial.get(), int(in.size()));
  launch_kernel(kernel, 1, kThreads, 0, nullptr, partial.get(), total.get(), blocks);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  return total.read()[0];
}

// Small integers: every partial sum is exact in float, so any order gives the same answer.
std::vector<float> ramp(int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[size_t(i)] = float(i % 17 - 8) + (i % 3 == 0 ? 20.0f : 0.0f);
  return v;
}

float cpu_sum(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return float(s);
}

constexpr int kTile = 16;

// C = A B for row-major A (m x k) and B (k x n), in 16 x 16 shared-memory tiles.
__global__ void matmul_tiled(const float* a, const float* b, float* c, int m, int n, int k) {
  __shared__ float as[kTile][kTile];
  __shared__ float bs[kTile][kTile];
  const int tx = int(threadIdx.x), ty = int(threadIdx.y);
  const int row = int(blockIdx.y) * kTile + ty, col = int(blockIdx.x) * kTile + tx;
  float acc = 0.0f;
  for (int k0 = 0; k0 < k; k0 += kTile) {
    as[ty][tx] = row < m && k0 + tx < k ? a[row * k + k0 + tx] : 0.0f;
    bs[ty][tx] = k0 + ty < k && col < n ? b[(k0 + ty) * n + col] : 0.0f;
    __syncthreads();
    for (int j = 0; j < kTile; ++j) acc += as[ty][j] * bs[j][tx];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = acc;
}

// out[i] = in[i - 1] through dynamic shared memory, with the barrier between write and read
// forgotten: in forward order every neighbour has written already, so the bug hides there.
__global__ void shift_missing_sync(const float* in, float* out) {
  SIGNET_DYNAMIC_SHARED(float, s);
  const int t = int(threadIdx.x);
  s[t] = in[t];
  out[t] = t > 0 ? s[t - 1] : 0.0f;
}

class SimtKernels : public SimtOrderTest {};

TEST_P(SimtKernels, ReductionMatchesCpuLoop) {
  for (int n : {1, 255, 256, 1000, 100003}) {
    const std::vector<float> v = ramp(n);
    EXPECT_EQ(gpu_sum(block_sum, v, 37), cpu_sum(v)) << "n = " << n;
  }
}

TEST_P(SimtKernels, TiledMatmulMatchesCpuLoop) {
  const int m = 70, n = 45, k = 33;  // remainders in every dimension
  std::vector<float> a(size_t(m * k)), b(size_t(k * n)), want(size_t(m * n), 0.0f);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 7 % 11) - 5);
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(int(i * 5 % 13) - 6);
  for (int r = 0; r < m; ++r)
    for (int c = 0; c < n; ++c)
      for (int j = 0; j < k; ++j)
        want[size_t(r * n + c)] += a[size_t(r * k + j)] * b[size_t(j * n + c)];
  DeviceBuffer<float> da(a), db(b), dc(size_t(m * n));
  const dim3 grid((n + kTile - 1) / kTile, (m + kTile - 1) / kTile), block(kTile, kTile);
  launch_kernel(matmul_tiled, grid, block, 0, nullptr, da.get(), db.get(), dc.get(), m, n, k);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(dc.read(), want);
}

SIGNET_SIMT_ORDERS(SimtKernels);

// Runs `body` under one thread order and puts the previous order back.
template <class F>
auto with_order(Order order, F body) {
  const Order previous = thread_order();
  set_thread_order(order);
  auto result = body();
  set_thread_order(previous);
  return result;
}

TEST(SimtPlantedBugs, MissingSyncthreadsInTreeReductionFailsForward) {
  const std::vector<float> v = ramp(256);
  auto sum = [&] { return gpu_sum(block_sum_missing_sync, v, 1); };
  // Forward order: thread 0 runs its whole loop before its partners have added their halves.
  EXPECT_NE(with_order(Order::kForward, sum), cpu_sum(v));
}

TEST(SimtPlantedBugs, MissingSyncthreadsInShiftFailsReverse) {
  std::vector<float> in(64);
  for (int i = 0; i < 64; ++i) in[size_t(i)] = float(i);
  auto shift = [&] {
    DeviceBuffer<float> din(in), dout(64);
    launch_kernel(shift_missing_sync, 1, 64, 64 * sizeof(float), nullptr, din.get(), dout.get());
    return dout.read();
  };
  const std::vector<float> forward = with_order(Order::kForward, shift);
  EXPECT_EQ(forward[63], 62.0f);  // forward order hides the race
  // Reverse order: each thread reads its neighbour's slot before the neighbour has run, and the
  // slot still holds the NaN the runtime filled shared memory with.
  const std::vector<float> reverse = with_order(Order::kReverse, shift);
  for (int i = 1; i < 64; ++i) EXPECT_TRUE(std::isnan(reverse[size_t(i)])) << i;
}

// Even and odd threads wait at two different barriers; `lines` records where.
__global__ void divergent_barrier(int* lines) {
  if (threadIdx.x % 2 == 0) {
    if (threadIdx.x == 0) lines[0] = __LINE__ + 1;
    __syncthreads();
  } else {
    if (threadIdx.x == 1) lines[1] = __LINE__ + 1;
    __syncthreads();
  }
}

// The last 16 threads leave before the barrier the others wait at.
__global__ void early_exit_barrier(int* line) {
  if (threadIdx.x >= 48) return;
  if (threadIdx.x == 0) line[0] = __LINE__ + 1;
  __syncthreads();
}

// Lanes 16 to 31 exit; the others shuffle down by one, so lane 15 reads the exited lane 16.
__global__ void shuffle_with_exited_lanes(int* line) {
  if (threadIdx.x >= 16) return;
  if (threadIdx.x == 0) line[0] = __LINE__ + 1;
  const int up = __shfl_down_sync(0xffffffffu, int(threadIdx.x), 1);
  if (threadIdx.x == 0) line[1] = up;
}

// Off by one: thread t writes slot t + 1, so the last thread writes past the end.
__global__ void shared_off_by_one(int* unused) {
  SIGNET_DYNAMIC_SHARED(float, s);
  s[threadIdx.x + 1] = 1.0f;
  if (threadIdx.x == 0) unused[0] = 0;
}

// Launches one block, expects the launch to fail, and returns the runtime's explanation.
template <class... P>
std::string failure(void (*kernel)(P...), unsigned threads, int* lines, size_t shmem = 0) {
  launch_kernel(kernel, 1, threads, shmem, nullptr, lines);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  return last_error_detail();
}

std::string site(int line) {
  return std::string(__FILE__) + ":" + std::to_string(line);
}

TEST(SimtPlantedBugs, DivergentBarrierNamesBothSites) {
  DeviceBuffer<int> lines(2);
  const std::string why = failure(divergent_barrier, 64, lines.get());
  const std::vector<int> l = lines.read();
  EXPECT_NE(why.find("32 wait in __syncthreads at " + site(l[0])), std::string::npos) << why;
  EXPECT_NE(why.find("32 wait in __syncthreads at " + site(l[1])), std::string::npos) << why;
  EXPECT_NE(why.find("0 have exited"), std::string::npos) << why;
}

TEST(SimtPlantedBugs, BarrierAfterEarlyExitCountsTheExited) {
  DeviceBuffer<int> line(1);
  const std::string why = failure(early_exit_barrier, 64, line.get());
  EXPECT_NE(why.find("48 wait in __syncthreads at " + site(line.read()[0])), std::string::npos)
      << why;
  EXPECT_NE(why.find("16 have exited"), std::string::npos) << why;
}

TEST(SimtPlantedBugs, ShuffleReadingAnExitedLane) {
  DeviceBuffer<int> line(2);
  const std::string why = failure(shuffle_with_exited_lanes, 32, line.get());
  EXPECT_NE(why.find("__shfl_down_sync at " + site(line.read()[0]) +
                     ": lane 15 reads lane 16, which has exited"),
            std::string::npos)
      << why;
}

// Half the warp shuffles with a full mask while the other half waits at a block barrier: the
// shuffle's lanes never arrive, on a GPU a hang.
__global__ void shuffle_against_barrier(int* lines) {
  if (threadIdx.x < 16) {
    if (threadIdx.x == 0) lines[0] = __LINE__ + 1;
    lines[2 + threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x), 0);
  } else {
    if (threadIdx.x == 16) lines[1] = __LINE__ + 1;
    __syncthreads();
  }
}

TEST(SimtPlantedBugs, ShuffleWhoseLanesNeverArrive) {
  DeviceBuffer<int> lines(32);
  const std::string why = failure(shuffle_against_barrier, 32, lines.get());
  const std::vector<int> l = lines.read();
  EXPECT_NE(why.find("16 wait in __shfl_sync (mask 0xffffffff, warp 0) at " + site(l[0])),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("16 wait in __syncthreads at " + site(l[1])), std::string::npos) << why;
}

TEST(SimtPlantedBugs, OutOfBoundsSharedWriteIsReported) {
  DeviceBuffer<int> unused(1);
  const std::string why = failure(shared_off_by_one, 32, unused.get(), 32 * sizeof(float));
  EXPECT_NE(why.find("wrote outside its 128 bytes of dynamic shared memory: up to 4 bytes past"),
            std::string::npos)
      << why;
}

}  // namespace
}  // namespace signet::cuda
