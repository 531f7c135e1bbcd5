#include "kernels/cuda/conv_naive.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::ConvDesc;

constexpr int kThreads = 256;

// The (d, h, w) position of the row-major index i over extents e.
__device__ __forceinline__ void unflatten(int64_t i, const int64_t* e, int64_t* p) {
  p[0] = i / (e[1] * e[2]);
  p[1] = i / e[2] % e[1];
  p[2] = i % e[2];
}

// One thread per output element (n, k, o): bias plus the group's channels times the taps.
__global__ void conv_naive_forward_kernel(ConvDesc d, int64_t total, const float* __restrict__ x,
                                          const float* __restrict__ w,
                                          const float* __restrict__ bias, float* __restrict__ y) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t taps = d.kernel[0] * d.kernel[1] * d.kernel[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t o = t % out_vol, k = t / out_vol % d.k, n = t / out_vol / d.k;
    int64_t p[3];
    unflatten(o, d.out, p);
    const float* xg = x + (n * d.c + k / kg * cg) * in_vol;
    const float* wk = w + k * cg * taps;
    float acc = bias ? bias[k] : 0.0f;
    for (int64_t c = 0; c < cg; ++c) {
      int64_t tap = 0;
      for (int64_t kd = 0; kd < d.kernel[0]; ++kd) {
        const int64_t id = p[0] * d.stride[0] - d.pad[0] + kd * d.dilation[0];
        for (int64_t kh = 0; kh < d.kernel[1]; ++kh) {
          const int64_t ih = p[1] * d.stride[1] - d.pad[1] + kh * d.dilation[1];
          for (int64_t kw = 0; kw < d.kernel[2]; ++kw, ++tap) {
            const int64_t iw = p[2] * d.stride[2] - d.pad[2] + kw * d.dilation[2];
            if (id < 0 || id >= d.in[0] || ih < 0 || ih >= d.in[1] || iw < 0 || iw >= d.in[2])
              continue;
            acc =
                fmaf(xg[c * in_vol + (id * d.in[1] + ih) * d.in[2] + iw], wk[c * taps + tap], acc);
          }
        }
      }
    }
    y[t] = acc;
  }
}

// The output coordinate that tap j reads input coordinate i from along dim s, or -1 if none.
__device__ __forceinline__ int64_t source(const ConvDesc& d, int s, int64_t i, int64_t j) {
  const int64_t num = i + d.pad[s] - j * d.dilation[s];
  if (num < 0 || num % d.stride[s] != 0) return -1;
  const int64_t o = num / d.stride[s];
  return o < d.out[s] ? o : -1;
}

// One thread per input element (n, ci, i): sums dy * w over the group's filters and the taps
// that read i.
__global__ void conv_naive_data_kernel(ConvDesc d, int64_t total, const float* __restrict__ dy,
                                       const float* __restrict__ w, float* __restrict__ dx) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t taps = d.kernel[0] * d.kernel[1] * d.kernel[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t i = t % in_vol, ci = t / in_vol % d.c, n = t / in_vol / d.c;
    const int64_t g = ci / cg, c = ci % cg;
    int64_t p[3];
    unflatten(i, d.in, p);
    float acc = 0.0f;
    for (int64_t k = g * kg; k < (g + 1) * kg; ++k) {
      const float* gk = dy + (n * d.k + k) * out_vol;
      const float* wk = w + (k * cg + c) * taps;
      int64_t tap = 0;
      for (int64_t kd = 0; kd < d.kernel[0]; ++kd) {
        const int64_t od = source(d, 0, p[0], kd);
        for (int64_t kh = 0; kh < d.kernel[1]; ++kh) {
          const int64_t oh = source(d, 1, p[1], kh);
          for (int64_t kw = 0; kw < d.kernel[2]; ++kw, ++tap) {
            const int64_t ow = source(d, 2, p[2], kw);
            if (od < 0 || oh < 0 || ow < 0) continue;
            acc = fmaf(gk[(od * d.out[1] + oh) * d.out[2] + ow], wk[tap], acc);
          }
        }
      }
    }
    dx[t] = acc;
  }
}

// One thread per weight element (k, c, tap): sums x * dy over the batch and output positions.
__global__ void conv_naive_weights_kernel(ConvDesc d, int64_t total, const float* __restrict__ x,
                                          const float* __restrict__ dy, float* __restrict__ dw) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t taps = d.kernel[0] * d.kernel[1] * d.kernel[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t tap = t % taps, c = t / taps % cg, k = t / taps / cg;
    int64_t q[3];
    unflatten(tap, d.kernel, q);
    float acc = 0.0f;
    for (int64_t n = 0; n < d.n; ++n) {
      const float* xp = x + (n * d.c + k / kg * cg + c) * in_vol;
      const float* gp = dy + (n * d.k + k) * out_vol;
      for (int64_t o = 0; o < out_vol; ++o) {
        int64_t p[3];
        unflatten(o, d.out, p);
        const int64_t id = p[0] * d.stride[0] - d.pad[0] + q[0] * d.dilation[0];
        const int64_t ih = p[1] * d.stride[1] - d.pad[1] + q[1] * d.dilation[1];
        const int64_t iw = p[2] * d.stride[2] - d.pad[2] + q[2] * d.dilation[2];
        if (id < 0 || id >= d.in[0] || ih < 0 || ih >= d.in[1] || iw < 0 || iw >= d.in[2]) continue;
        acc = fmaf(xp[(id * d.in[1] + ih) * d.in[2] + iw], gp[o], acc);
      }
    }
    dw[t] = acc;
  }
}

// One thread per filter k: dbias[k] = the sum of dy over the batch and output positions.
__global__ void conv_naive_bias_kernel(ConvDesc d, const float* __restrict__ dy,
                                       float* __restrict__ dbias) {
  const int64_t out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < d.k; k += stride) {
    float acc = 0.0f;
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t o = 0; o < out_vol; ++o) acc += dy[(n * d.k + k) * out_vol + o];
    dbias[k] = acc;
  }
}

// Blocks for `work` items: one per kThreads, at most 8192 (the grid-stride loops do the rest).
int blocks_for(int64_t work) {
  const int64_t wanted = (work + kThreads - 1) / kThreads;
  return int(wanted < 8192 ? wanted : 8192);
}

}  // namespace

// One thread per output element.
cudaError_t conv_v1_naive_forward_f32(const ConvDesc& d, const float* x, const float* w,
                                      const float* bias, float* y) {
  const int64_t total = d.n * d.k * d.out[0] * d.out[1] * d.out[2];
  if (total == 0) return cudaSuccess;
  launch_kernel(conv_naive_forward_kernel, blocks_for(total), kThreads, 0, current_stream(), d,
                total, x, w, bias, y);
  return cudaGetLastError();
}

// One thread per input element.
cudaError_t conv_v1_naive_backward_data_f32(const ConvDesc& d, const float* dy, const float* w,
                                            float* dx) {
  const int64_t total = d.n * d.c * d.in[0] * d.in[1] * d.in[2];
  if (total == 0) return cudaSuccess;
  launch_kernel(conv_naive_data_kernel, blocks_for(total), kThreads, 0, current_stream(), d, total,
                dy, w, dx);
  return cudaGetLastError();
}

// One thread per weight element, then one per filter for dbias.
cudaError_t conv_v1_naive_backward_weights_f32(const ConvDesc& d, const float* x, const float* dy,
                                               float* dw, float* dbias) {
  const int64_t total = d.k * (d.c / d.groups) * d.kernel[0] * d.kernel[1] * d.kernel[2];
  if (total == 0) return cudaSuccess;
  launch_kernel(conv_naive_weights_kernel, blocks_for(total), kThreads, 0, current_stream(), d,
                total, x, dy, dw);
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess || !dbias) return status;
  launch_kernel(conv_naive_bias_kernel, blocks_for(d.k), kThreads, 0, current_stream(), d, dy,
                dbias);
  return cudaGetLastError();
}

}  // namespace signet::cuda
