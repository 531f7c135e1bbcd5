// The runtime shim of the host SIMT mode: memory, copies, streams, events and error codes.
// The kernels below are built for the host SIMT mode (see kernels/cuda/cuda_compat.h).
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_compat.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {
namespace {

// Reads one device int without synchronising (see peek_device_memory).
int peek(const int* device) {
  int v = -12345;
  EXPECT_EQ(peek_device_memory(&v, device, sizeof v), cudaSuccess);
  return v;
}

__global__ void fill(int* out, int n, int value) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = value;
}

// out[i] = in[i] + 1: a kernel that depends on an earlier one.
__global__ void increment(int* out, const int* in, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i] + 1;
}

TEST(SimtRuntime, MallocCopyMemsetRoundTrip) {
  int* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 100 * sizeof(int)), cudaSuccess);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d) % 256, 0u);
  ASSERT_EQ(cudaMemset(d, 0xff, 100 * sizeof(int)), cudaSuccess);
  std::vector<int> h(100, 0);
  ASSERT_EQ(cudaMemcpy(h.data(), d, 100 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int v : h) EXPECT_EQ(v, -1);
  EXPECT_EQ(cudaMemcpy(h.data(), d, 101 * sizeof(int), cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);  // runs off the allocation
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaErrorInvalidDevicePointer);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevicePointer);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading the error clears it
}

// A launch only queues work: the memory changes at the synchronising call, not before.
TEST(SimtRuntime, LaunchesWaitInTheirStreamUntilSynchronised) {
  DeviceBuffer<int> buf(std::vector<int>(64, 0));
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  launch_kernel(fill, 1, 64, 0, s, buf.get(), 64, 7);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(peek(buf.get() + 0), 0);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(peek(buf.get() + 0), 7);
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

TEST(SimtRuntime, AsyncCopiesKeepStreamOrder) {
  std::vector<int> host(32, 3), back(32, 0);
  DeviceBuffer<int> a(32), b(32);
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  cudaMemcpyAsync(a.get(), host.data(), 32 * sizeof(int), cudaMemcpyHostToDevice, s);
  launch_kernel(increment, 1, 32, 0, s, b.get(), a.get(), 32);
  cudaMemcpyAsync(back.data(), b.get(), 32 * sizeof(int), cudaMemcpyDeviceToHost, s);
  EXPECT_EQ(back[0], 0);  // nothing has run yet
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(back, std::vector<int>(32, 4));
  cudaStreamDestroy(s);
}

// Stream 2 waits for an event recorded on stream 1: synchronising stream 2 alone runs stream
// 1's work up to the event first, and nothing recorded after it.
TEST(SimtRuntime, StreamWaitEventOrdersAcrossStreams) {
  DeviceBuffer<int> a(std::vector<int>(32, 0)), b(std::vector<int>(32, 0));
  cudaStream_t s1, s2;
  cudaEvent_t e;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&e), cudaSuccess);
  launch_kernel(fill, 1, 32, 0, s1, a.get(), 32, 5);
  ASSERT_EQ(cudaEventRecord(e, s1), cudaSuccess);
  launch_kernel(fill, 1, 32, 0, s1, a.get(), 32, 9);
  ASSERT_EQ(cudaStreamWaitEvent(s2, e, 0), cudaSuccess);
  launch_kernel(increment, 1, 32, 0, s2, b.get(), a.get(), 32);
  ASSERT_EQ(cudaStreamSynchronize(s2), cudaSuccess);
  EXPECT_EQ(peek(b.get() + 0), 6);
  EXPECT_EQ(peek(a.get() + 0), 5);  // the fill with 9 is still queued on s1
  ASSERT_EQ(cudaStreamSynchronize(s1), cudaSuccess);
  EXPECT_EQ(peek(a.get() + 0), 9);
  cudaEventDestroy(e);
  cudaStreamDestroy(s1);
  cudaStreamDestroy(s2);
}

// Work on the legacy default stream waits for earlier work on blocking streams.
TEST(SimtRuntime, DefaultStreamWaitsForBlockingStreams) {
  DeviceBuffer<int> a(std::vector<int>(32, 0)), b(std::vector<int>(32, 0));
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  launch_kernel(fill, 1, 32, 0, s, a.get(), 32, 1);
  launch_kernel(increment, 1, 32, 0, nullptr, b.get(), a.get(), 32);
  ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  EXPECT_EQ(peek(b.get() + 31), 2);
  cudaStreamDestroy(s);
}

TEST(SimtRuntime, EventsTimeAndSynchronise) {
  cudaEvent_t start, stop;
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  DeviceBuffer<int> a(1024);
  cudaEventRecord(start);
  launch_kernel(fill, 4, 256, 0, nullptr, a.get(), 1024, 2);
  cudaEventRecord(stop);
  float ms = -1;
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaErrorNotReady);
  EXPECT_EQ(cudaGetLastError(), cudaErrorNotReady);
  ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
  ASSERT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
  EXPECT_GE(ms, 0.0f);
  EXPECT_EQ(peek(a.get() + 1023), 2);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

TEST(SimtRuntime, InvalidLaunchConfigurationFailsAtOnce) {
  DeviceBuffer<int> a(32);
  launch_kernel(fill, 1, 2048, 0, nullptr, a.get(), 32, 1);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  launch_kernel(fill, dim3(0), 32, 0, nullptr, a.get(), 32, 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorLaunchFailure), "unspecified launch failure");
}

TEST(SimtRuntime, OneDeviceWithProperties) {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  cudaDeviceProp prop;
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_EQ(std::string(prop.name).rfind("Signet host SIMT", 0), 0u);
  EXPECT_EQ(prop.warpSize, 32);
  EXPECT_EQ(cudaGetDeviceProperties(&prop, 1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  cudaGetLastError();
}

// Host code touching device memory faults, as it does with a GPU: the missing copy shows.
TEST(SimtRuntimeDeathTest, HostReadOfDeviceMemoryFaults) {
  const char* protect = std::getenv("SIGNET_SIMT_PROTECT");
  if (protect && *protect == '0') GTEST_SKIP() << "SIGNET_SIMT_PROTECT=0";
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  DeviceBuffer<int> buf(std::vector<int>(4, 1));
  const int* device = buf.get();
  EXPECT_DEATH(
      {
        volatile int v = device[0];
        (void)v;
      },
      "");
  EXPECT_EQ(peek(device), 1);
}

#if defined(__SANITIZE_THREAD__)
#define SIGNET_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIGNET_TEST_TSAN 1
#endif
#endif

#if defined(SIGNET_TEST_TSAN)
// Planted race: threads 0 and 1 write the same shared word with no barrier between them.
__global__ void racy_shared_write(int* out) {
  __shared__ int word;
  if (threadIdx.x < 2) word = int(threadIdx.x);
  __syncthreads();
  if (threadIdx.x == 0) out[0] = word;
}
#endif

// Under ThreadSanitizer (.ci/simt_sanitizers.sh) only barriers and warp collectives order the
// threads of a block, so the planted race is reported: the child exits with TSan's code 66.
TEST(SimtRuntimeDeathTest, ThreadSanitizerReportsSharedMemoryRace) {
#if defined(SIGNET_TEST_TSAN)
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  DeviceBuffer<int> out(1);
  int* device = out.get();
  EXPECT_EXIT(
      {
        launch_kernel(racy_shared_write, 1, 64, 0, nullptr, device);
        cudaDeviceSynchronize();
        std::exit(0);
      },
      ::testing::ExitedWithCode(66), "ThreadSanitizer: data race");
#else
  GTEST_SKIP() << "needs a -fsanitize=thread build (.ci/simt_sanitizers.sh)";
#endif
}

}  // namespace
}  // namespace signet::cuda
