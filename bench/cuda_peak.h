// The CUDA device's dense arithmetic peak for the device benchmarks (bench_cuda_*.cpp): SMs x
// clock (cudaDeviceGetAttribute on device 0) x the per-SM rate of its compute capability.
#pragma once

namespace signet::bench {

// The arithmetic a kernel runs on: fp32 FMA, tf32 or bf16 tensor cores (fp32 accumulation).
enum class CudaMath { kFp32, kTf32, kBf16 };

// Device 0's peak flop/s for `math`; 0 when its compute capability is not in the rate table.
double cuda_device_peak(CudaMath math);

}  // namespace signet::bench
