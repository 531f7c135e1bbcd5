#include "kernels/cuda/conv_first_layer.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::ConvDesc;

// Threads (output positions) and filters a block covers.
constexpr int kThreads = 128, kFilters = 16;

// Block (position tile, filter tile, group): the tile's kFilters filters go to shared memory as
// ws[r][f]; thread t walks the patch of position blockIdx.x*128 + t tap by tap (no divisions in
// the loop) and accumulates all kFilters outputs from each input value.
__global__ void __launch_bounds__(kThreads, 1)
    conv_first_layer_kernel(ConvDesc d, const float* __restrict__ x, const float* __restrict__ w,
                            const float* __restrict__ bias, float* __restrict__ y) {
  SIGNET_DYNAMIC_SHARED(float, ws);
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t taps = d.kernel[0] * d.kernel[1] * d.kernel[2], depth = cg * taps;
  const int64_t out_volume = d.out[0] * d.out[1] * d.out[2];
  const int64_t in_volume = d.in[0] * d.in[1] * d.in[2];
  const int64_t g = blockIdx.z, f0 = int64_t(blockIdx.y) * kFilters;
  for (int64_t e = threadIdx.x; e < depth * kFilters; e += kThreads) {
    const int64_t f = f0 + e / depth, r = e % depth;
    ws[r * kFilters + e / depth] = f < kg ? w[(g * kg + f) * depth + r] : 0.0f;
  }
  __syncthreads();
  const int64_t p = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (p >= d.n * out_volume) return;
  const int64_t n = p / out_volume, pos = p % out_volume;
  const int64_t ow = pos % d.out[2], oh = pos / d.out[2] % d.out[1],
                od = pos / (d.out[2] * d.out[1]);
  float acc[kFilters];
  for (int f = 0; f < kFilters; ++f) acc[f] = 0.0f;
  const float* xg = x + (n * d.c + g * cg) * in_volume;
  const float* wr = ws;
  for (int64_t ch = 0; ch < cg; ++ch)
    for (int64_t kd = 0; kd < d.kernel[0]; ++kd) {
      const int64_t id = od * d.stride[0] - d.pad[0] + kd * d.dilation[0];
      for (int64_t kh = 0; kh < d.kernel[1]; ++kh) {
        const int64_t ih = oh * d.stride[1] - d.pad[1] + kh * d.dilation[1];
        for (int64_t kw = 0; kw < d.kernel[2]; ++kw, wr += kFilters) {
          const int64_t iw = ow * d.stride[2] - d.pad[2] + kw * d.dilation[2];
          if (id < 0 || id >= d.in[0] || ih < 0 || ih >= d.in[1] || iw < 0 || iw >= d.in[2])
            continue;
          const float v = xg[ch * in_volume + (id * d.in[1] + ih) * d.in[2] + iw];
          for (int f = 0; f < kFilters; ++f) acc[f] = fmaf(v, wr[f], acc[f]);
        }
      }
    }
  for (int f = 0; f < kFilters; ++f) {
    const int64_t filter = g * kg + f0 + f;
    if (f0 + f < kg)
      y[(n * d.k + filter) * out_volume + pos] = acc[f] + (bias ? bias[filter] : 0.0f);
  }
}

}  // namespace

// The filters of one block must fit the shared-memory table.
bool conv_first_layer_applies(const ConvDesc& d) {
  return d.c / d.groups * kernels::conv_kernel_volume(d) <= kFirstLayerMaxDepth;
}

// Grid (positions / 128, filters per group / 16, groups); kFilters * depth floats of shared memory.
cudaError_t conv_first_layer_forward_f32(const ConvDesc& d, const float* x, const float* w,
                                         const float* bias, float* y) {
  if (!conv_first_layer_applies(d)) return cudaErrorInvalidValue;
  const int64_t cols = d.n * kernels::conv_out_volume(d), kg = d.k / d.groups;
  const int64_t depth = d.c / d.groups * kernels::conv_kernel_volume(d);
  if (cols == 0 || kg == 0) return cudaSuccess;
  const int64_t grid_x = (cols + kThreads - 1) / kThreads, grid_y = (kg + kFilters - 1) / kFilters;
  if (d.groups > 65535 || grid_y > 65535 || grid_x > 0x7fffffff)
    return cudaErrorInvalidConfiguration;
  const size_t shmem = size_t(depth > 0 ? depth : 1) * kFilters * sizeof(float);
  launch_kernel(conv_first_layer_kernel,
                dim3(unsigned(grid_x), unsigned(grid_y), unsigned(d.groups)), dim3(kThreads), shmem,
                current_stream(), d, x, w, bias, y);
  return cudaGetLastError();
}

}  // namespace signet::cuda
