#include "bench/cuda_peak.h"

#include <cuda_runtime_api.h>

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

}  // namespace signet::bench
