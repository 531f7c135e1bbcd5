#include "kernels/cuda/cast.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::StridedDesc;

constexpr int kThreads = 256;

// Grid-stride loop: out[off0] = To(in[off1]) for each row-major index of the space.
template <class To, class From>
__global__ void cast_kernel(StridedDesc d, int64_t n, const From* __restrict__ in,
                            To* __restrict__ out) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t rest = i, off_out = 0, off_in = 0;
    for (int k = d.ndim - 1; k >= 0; --k) {
      const int64_t c = rest % d.shape[k];
      rest /= d.shape[k];
      off_out += c * d.stride[0][k];
      off_in += c * d.stride[1][k];
    }
    out[off_out] = static_cast<To>(in[off_in]);
  }
}

// Launches cast_kernel over d; an empty space launches nothing.
template <class To, class From>
cudaError_t launch_cast(const StridedDesc& d, const From* in, To* out) {
  const int64_t n = kernels::strided_numel(d);
  if (n == 0) return cudaSuccess;
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  launch_kernel(cast_kernel<To, From>, int(wanted < 4096 ? wanted : 4096), kThreads, 0,
                current_stream(), d, n, in, out);
  return cudaGetLastError();
}

}  // namespace

cudaError_t cast_f32_from_u8(const StridedDesc& d, const uint8_t* in, float* out) {
  return launch_cast(d, in, out);
}

cudaError_t cast_f32_from_i64(const StridedDesc& d, const int64_t* in, float* out) {
  return launch_cast(d, in, out);
}

cudaError_t copy_i64(const StridedDesc& d, const int64_t* in, int64_t* out) {
  return launch_cast(d, in, out);
}

cudaError_t copy_u8(const StridedDesc& d, const uint8_t* in, uint8_t* out) {
  return launch_cast(d, in, out);
}

}  // namespace signet::cuda
