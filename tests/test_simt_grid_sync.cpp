// Cooperative launches in the host SIMT mode: all blocks co-resident, and the grid-wide barrier
// cooperative_groups::this_grid().sync() between them, under every thread order.
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cuda/cuda_compat.h"
#include "tests/test_simt_buffer.h"
#include "tests/test_simt_order.h"

namespace signet::cuda {
namespace {

// `rounds` steps of x[i] += 2 * x[(7i + 3) % n] + r, each reading other blocks' results of the
// step before: a and b alternate as source and destination, a grid barrier between steps.
__global__ void ring_rounds(int* a, int* b, int n, int rounds) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  const cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  for (int r = 0; r < rounds; ++r) {
    const int* src = r % 2 ? b : a;
    int* dst = r % 2 ? a : b;
    if (i < n) dst[i] = src[i] + 2 * src[(7 * i + 3) % n] + r;
    grid.sync();
  }
}

// The host loop ring_rounds computes.
std::vector<int> ring_rounds_cpu(std::vector<int> x, int rounds) {
  const int n = int(x.size());
  for (int r = 0; r < rounds; ++r) {
    std::vector<int> y(x.size());
    for (int i = 0; i < n; ++i) y[size_t(i)] = x[size_t(i)] + 2 * x[size_t((7 * i + 3) % n)] + r;
    x = y;
  }
  return x;
}

// Each block sums its values in static shared memory and publishes the sum; after the grid
// barrier every thread writes the sum of all blocks' sums.
__global__ void grid_total(const int* in, int* partial, int* out, int n) {
  __shared__ int block_total;
  const unsigned block = blockIdx.x + gridDim.x * blockIdx.y;
  const int i = int(block * blockDim.x + threadIdx.x);
  if (threadIdx.x == 0) block_total = 0;
  __syncthreads();
  if (threadIdx.x == 0)
    for (unsigned t = 0; t < blockDim.x && int(block * blockDim.x + t) < n; ++t)
      block_total += in[block * blockDim.x + t];
  __syncthreads();
  if (threadIdx.x == 0) partial[block] = block_total;
  cooperative_groups::this_grid().sync();
  int total = 0;
  for (unsigned b = 0; b < gridDim.x * gridDim.y; ++b) total += partial[b];
  if (i < n) out[i] = total;
}

// Block 2 leaves before the grid barrier the others wait in.
__global__ void block_skips_grid_sync(int* out) {
  if (blockIdx.x == 2) return;
  cooperative_groups::this_grid().sync();
  out[blockIdx.x] = 1;
}

// Thread 0 of block 1 skips the grid barrier, so block 1 can never arrive.
__global__ void thread_skips_grid_sync(int* out) {
  if (blockIdx.x == 1 && threadIdx.x == 0) return;
  cooperative_groups::this_grid().sync();
  out[blockIdx.x] = 1;
}

class SimtGridSync : public SimtOrderTest {};

TEST_P(SimtGridSync, BlocksExchangeDataAcrossGridBarriers) {
  const int threads = 37, blocks = 7, n = threads * blocks - 5, rounds = 5;
  std::vector<int> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[size_t(i)] = (i * 13) % 17 - 8;
  DeviceBuffer<int> a(x), b(static_cast<size_t>(n));
  launch_cooperative_kernel(ring_rounds, blocks, threads, 0, nullptr, a.get(), b.get(), n, rounds);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
  EXPECT_EQ((rounds % 2 ? b : a).read(), ring_rounds_cpu(x, rounds));
}

TEST_P(SimtGridSync, EveryBlockSeesEveryBlocksSum) {
  const unsigned threads = 45;
  const dim3 grid(3, 2);
  const int n = int(threads * 6) - 11;
  std::vector<int> x(static_cast<size_t>(n));
  int want = 0;
  for (int i = 0; i < n; ++i) want += x[size_t(i)] = (i * 29) % 31 - 15;
  DeviceBuffer<int> in(x), partial(6), out(static_cast<size_t>(n));
  launch_cooperative_kernel(grid_total, grid, threads, 0, nullptr, in.get(), partial.get(),
                            out.get(), n);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << last_error_detail();
  EXPECT_EQ(out.read(), std::vector<int>(size_t(n), want));
}

SIGNET_SIMT_ORDERS(SimtGridSync);

TEST(SimtGridSyncErrors, GridBarrierInNormalLaunchIsAnError) {
  DeviceBuffer<int> a(std::vector<int>(64, 1)), b(64);
  launch_kernel(ring_rounds, 2, 32, 0, nullptr, a.get(), b.get(), 64, 2);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_NE(last_error_detail().find("this_grid().sync() at"), std::string::npos)
      << last_error_detail();
  EXPECT_NE(last_error_detail().find("needs a cooperative launch"), std::string::npos)
      << last_error_detail();
}

TEST(SimtGridSyncErrors, BlockEndingBeforeGridBarrierIsAnError) {
  DeviceBuffer<int> out(4);
  launch_cooperative_kernel(block_skips_grid_sync, 4, 33, 0, nullptr, out.get());
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_NE(last_error_detail().find("1 of 4 blocks returned without reaching this grid barrier"),
            std::string::npos)
      << last_error_detail();
}

TEST(SimtGridSyncErrors, BlockThatCannotArriveIsReportedFirstHand) {
  DeviceBuffer<int> out(3);
  launch_cooperative_kernel(thread_skips_grid_sync, 3, 40, 0, nullptr, out.get());
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  const std::string detail = last_error_detail();
  EXPECT_NE(detail.find("block (1,0,0) of 40 threads cannot make progress: 39 wait in "
                        "this_grid().sync()"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("1 have exited"), std::string::npos) << detail;
}

TEST(SimtGridSyncErrors, TooManyBlocksIsRejectedAtLaunch) {
  DeviceBuffer<int> out(1);
  launch_cooperative_kernel(block_skips_grid_sync, kMaxCooperativeBlocks + 1, 32, 0, nullptr,
                            out.get());
  EXPECT_EQ(cudaGetLastError(), cudaErrorCooperativeLaunchTooLarge);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
}  // namespace signet::cuda
