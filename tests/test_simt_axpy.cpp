// The first shipped kernel, kernels/cuda/axpy.cu, built by the host compiler and run in the
// host SIMT mode against a CPU loop; device_query.cu reports the emulated device.
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cuda/axpy.h"
#include "kernels/cuda/device_query.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {
namespace {

TEST(SimtAxpy, MatchesCpuLoopAcrossGridSizes) {
  // 1 and 255 are partial blocks; 2'000'000 needs the grid-stride loop (4096 blocks of 256).
  for (int64_t n : {int64_t(1), int64_t(255), int64_t(1000), int64_t(2000000)}) {
    const size_t count = static_cast<size_t>(n);
    std::vector<float> x(count), y(count), want(count);
    for (size_t i = 0; i < count; ++i) {
      x[i] = float(i % 13) - 6.0f;
      y[i] = float(i % 7);
      want[i] = std::fma(1.5f, x[i], y[i]);
    }
    DeviceBuffer<float> dx(x), dy(y);
    axpy(n, 1.5f, dx.get(), dy.get(), nullptr);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_EQ(dy.read(), want) << "n = " << n;
  }
}

TEST(SimtAxpy, DeviceQueryNamesTheEmulator) {
  std::string error = "unset";
  EXPECT_EQ(device_count(&error), 1);
  EXPECT_EQ(error, "");
  EXPECT_EQ(device_name(0).rfind("Signet host SIMT", 0), 0u);
  EXPECT_EQ(device_name(3), "");
}

}  // namespace
}  // namespace signet::cuda
