#include "bench/cuda_bench.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bench/harness.h"

namespace signet::bench {
namespace {

// Dense flop per clock per SM (an FMA is 2): the peak TFLOP/s of NVIDIA's whitepapers divided by
// SMs x boost clock. A100 (sm_80, "NVIDIA A100 Tensor Core GPU Architecture", 2020: 19.5 fp32,
// 156 tf32, 312 bf16 TFLOP/s, 108 SMs at 1410 MHz); H100 SXM5 (sm_90, "NVIDIA H100 Tensor Core
// GPU Architecture", 2022: 67 fp32, 495 tf32, 989 bf16 TFLOP/s, 132 SMs at 1830 MHz).
struct Rate {
  int major, minor;
  double fp32, tf32, bf16;
};
const Rate kRates[] = {
    {8, 0, 128, 1024, 2048},
    {9, 0, 256, 2048, 4096},
};

}  // namespace

// Looks device 0's compute capability up in kRates.
double cuda_device_peak(CudaMath math) {
  int major = 0, minor = 0, sms = 0, clock_khz = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0);
  for (const Rate& r : kRates)
    if (r.major == major && r.minor == minor) {
      const double per_clock = math == CudaMath::kFp32   ? r.fp32
                               : math == CudaMath::kTf32 ? r.tf32
                                                         : r.bf16;
      return per_clock * sms * double(clock_khz) * 1e3;
    }
  return 0;
}

DeviceBuffer::DeviceBuffer(int64_t n, uint32_t seed) {
  Buffer host = random_buffer(size_t(n), seed);
  cudaMalloc(reinterpret_cast<void**>(&ptr), size_t(n) * sizeof(float));
  cudaMemcpy(ptr, host.get(), size_t(n) * sizeof(float), cudaMemcpyHostToDevice);
}

DeviceBuffer::DeviceBuffer(int64_t n, float value) {
  std::vector<float> host(size_t(n), value);
  cudaMalloc(reinterpret_cast<void**>(&ptr), size_t(n) * sizeof(float));
  cudaMemcpy(ptr, host.data(), size_t(n) * sizeof(float), cudaMemcpyHostToDevice);
}

DeviceBuffer::~DeviceBuffer() {
  cudaFree(ptr);
}

void set_cuda_flop_counters(benchmark::State& state, double flops_per_iteration, CudaMath math) {
  const double f = flops_per_iteration;
  state.counters["GFLOP/s"] =
      benchmark::Counter(f * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["TFLOP/s"] =
      benchmark::Counter(f * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
  const double peak = cuda_device_peak(math);
  if (peak > 0)
    state.counters["peak_frac"] =
        benchmark::Counter(f / peak, benchmark::Counter::kIsIterationInvariantRate);
}

double worst_relative_gap(const std::vector<float>& ours, const std::vector<float>& theirs) {
  double worst = 0;
  for (size_t i = 0; i < ours.size(); ++i)
    worst = std::max(worst, std::fabs(double{ours[i]} - theirs[i]) / (1 + std::fabs(theirs[i])));
  return worst;
}

int run_cuda_main(const char* program, int argc, char** argv, void (*register_cases)()) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::printf("%s: no CUDA device found (%s); nothing measured\n", program,
                e != cudaSuccess ? cudaGetErrorName(e) : "0 devices");
    return 0;
  }
  return run_main(argc, argv, register_cases);
}

}  // namespace signet::bench
