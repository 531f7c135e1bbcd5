// What the device benchmarks (bench_cuda_*.cpp) share: the device's dense arithmetic peak (SMs x
// clock (cudaDeviceGetAttribute on device 0) x the per-SM rate of its compute capability), event
// timing, the check of ours against the peer, and main() (which says when there is no device).
#pragma once
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace signet::bench {

// The arithmetic a kernel runs on: fp32 FMA, tf32 or bf16 tensor cores (fp32 accumulation).
enum class CudaMath { kFp32, kTf32, kBf16 };

// Device 0's peak flop/s for `math`; 0 when its compute capability is not in the rate table.
double cuda_device_peak(CudaMath math);

// A device buffer of n floats, uniform in [-1, 1) from seed (or `value` everywhere).
struct DeviceBuffer {
  float* ptr = nullptr;
  // Allocates n floats and copies random_buffer(n, seed) (harness.h) in.
  DeviceBuffer(int64_t n, uint32_t seed);
  // Allocates n floats, each set to value.
  DeviceBuffer(int64_t n, float value);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// Sets the GFLOP/s and TFLOP/s counters (flops per iteration over the event time) and, where
// the device is in the rate table, peak_frac of cuda_device_peak(math).
void set_cuda_flop_counters(benchmark::State& state, double flops_per_iteration, CudaMath math);

// The largest |ours[i] - theirs[i]| / (1 + |theirs[i]|).
double worst_relative_gap(const std::vector<float>& ours, const std::vector<float>& theirs);

// The main() of every device bench program: prints "<program>: no CUDA device found" and returns
// 0 when there is none, else run_main (harness.h).
int run_cuda_main(const char* program, int argc, char** argv, void (*register_cases)());

// Runs step once per iteration between two events and reports the event time; a failed call
// ends the case with its message. Returns the mean seconds per iteration (0 if none ran).
template <class Step>
double timed(benchmark::State& state, Step step) {
  double total = 0;
  int64_t runs = 0;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (auto _ : state) {
    cudaEventRecord(start);
    const std::string error = step();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(double(ms) * 1e-3);
    total += double(ms) * 1e-3;
    ++runs;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return runs > 0 ? total / double(runs) : 0.0;
}

}  // namespace signet::bench
