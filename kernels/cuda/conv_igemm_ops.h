// The three convolution passes as GEMM operands for the implicit-GEMM kernels (conv_igemm.cu on
// the SIMT register tile, conv_igemm_mma.cu on tensor cores): per pass a functor that gathers
// element a(g, row, r) and b(g, r, column) of group g's product on the fly (or its address,
// a_address / b_address, nullptr for a zero, for cp.async) and stores its result, so no im2col
// buffer exists in device memory. Shapes per group as in conv_igemm.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/conv_desc.h"
#include "kernels/cuda/cuda_compat.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda::igemm {

using kernels::ConvDesc;

// The problem in GEMM terms for one group: rows x cols outputs over depth products.
struct IgemmShape {
  int64_t rows, cols, depth;
};

// Sizes every operand functor needs.
struct ConvSizes {
  int64_t in_volume, out_volume, taps, cg, kg;
};

// d's volumes, taps and channels per group.
inline ConvSizes sizes_of(const ConvDesc& d) {
  return {kernels::conv_in_volume(d), kernels::conv_out_volume(d), kernels::conv_kernel_volume(d),
          d.c / d.groups, d.k / d.groups};
}

// Address of input value x[n, g*cg + ch, o*stride - pad + tap*dilation] for reduction index
// r = (ch, tap) and output column p = (n, o) of group g; nullptr in the padding.
__device__ __forceinline__ const float* patch_address(const ConvDesc& d, const ConvSizes& z,
                                                      const float* __restrict__ x, int64_t g,
                                                      int64_t r, int64_t p) {
  const int64_t ch = r / z.taps, tap = r % z.taps;
  const int64_t kw = tap % d.kernel[2], kh = tap / d.kernel[2] % d.kernel[1],
                kd = tap / (d.kernel[2] * d.kernel[1]);
  const int64_t n = p / z.out_volume, pos = p % z.out_volume;
  const int64_t ow = pos % d.out[2], oh = pos / d.out[2] % d.out[1],
                od = pos / (d.out[2] * d.out[1]);
  const int64_t id = od * d.stride[0] - d.pad[0] + kd * d.dilation[0];
  const int64_t ih = oh * d.stride[1] - d.pad[1] + kh * d.dilation[1];
  const int64_t iw = ow * d.stride[2] - d.pad[2] + kw * d.dilation[2];
  if (id < 0 || id >= d.in[0] || ih < 0 || ih >= d.in[1] || iw < 0 || iw >= d.in[2]) return nullptr;
  const int64_t plane = n * d.c + g * z.cg + ch;
  return x + ((plane * d.in[0] + id) * d.in[1] + ih) * d.in[2] + iw;
}

// The value at patch_address, 0 in the padding.
__device__ __forceinline__ float gather_patch(const ConvDesc& d, const ConvSizes& z,
                                              const float* __restrict__ x, int64_t g, int64_t r,
                                              int64_t p) {
  const float* v = patch_address(d, z, x, g, r, p);
  return v ? *v : 0.0f;
}

// The output coordinate whose tap j reads input coordinate i along dim s, or -1 if none (the
// stride must divide i + pad - j*dilation).
__device__ __forceinline__ int64_t source(const ConvDesc& d, int s, int64_t i, int64_t j) {
  const int64_t num = i + d.pad[s] - j * d.dilation[s];
  if (num < 0 || num % d.stride[s] != 0) return -1;
  const int64_t o = num / d.stride[s];
  return o < d.out[s] ? o : -1;
}

// Forward: A = w (filter f, r = (ch, tap)), B = patches, out = y (plus bias).
struct ForwardOps {
  ConvDesc d;
  ConvSizes z;
  IgemmShape s;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
  // Address of weight w[g*kg + f, r].
  __device__ const float* a_address(int64_t g, int64_t f, int64_t r) const {
    return w + (g * s.rows + f) * s.depth + r;
  }
  // Weight w[g*kg + f, r].
  __device__ float a(int64_t g, int64_t f, int64_t r) const { return *a_address(g, f, r); }
  // Address of the patch value of reduction index r at output column p, nullptr in the padding.
  __device__ const float* b_address(int64_t g, int64_t r, int64_t p) const {
    return patch_address(d, z, x, g, r, p);
  }
  // Patch value of reduction index r at output column p.
  __device__ float b(int64_t g, int64_t r, int64_t p) const {
    return gather_patch(d, z, x, g, r, p);
  }
  // y[n, g*kg + f, o] = v + bias.
  __device__ void store(int64_t g, int64_t, int64_t f, int64_t p, float v) const {
    const int64_t filter = g * s.rows + f, n = p / z.out_volume, pos = p % z.out_volume;
    y[(n * d.k + filter) * z.out_volume + pos] = v + (bias ? bias[filter] : 0.0f);
  }
};

// Backward-data: A = w seen as (input channel c, r = (filter k, tap)), B = dy at the output each
// tap of input column p = (n, i) came from (0 where none: padding or stride), out = dx.
struct DataOps {
  ConvDesc d;
  ConvSizes z;
  IgemmShape s;
  const float* dy;
  const float* w;
  float* dx;
  // Address of weight w[g*kg + k, c, tap].
  __device__ const float* a_address(int64_t g, int64_t c, int64_t r) const {
    const int64_t k = r / z.taps, tap = r % z.taps;
    return w + ((g * z.kg + k) * z.cg + c) * z.taps + tap;
  }
  // Weight w[g*kg + k, c, tap].
  __device__ float a(int64_t g, int64_t c, int64_t r) const { return *a_address(g, c, r); }
  // Address of dy[n, g*kg + k, o] with o the output that tap reads input i from, or nullptr.
  __device__ const float* b_address(int64_t g, int64_t r, int64_t p) const {
    const int64_t k = r / z.taps, tap = r % z.taps;
    const int64_t n = p / z.in_volume, i = p % z.in_volume;
    const int64_t od = source(d, 0, i / (d.in[1] * d.in[2]), tap / (d.kernel[1] * d.kernel[2]));
    const int64_t oh = source(d, 1, i / d.in[2] % d.in[1], tap / d.kernel[2] % d.kernel[1]);
    const int64_t ow = source(d, 2, i % d.in[2], tap % d.kernel[2]);
    if (od < 0 || oh < 0 || ow < 0) return nullptr;
    return dy + (n * d.k + g * z.kg + k) * z.out_volume + (od * d.out[1] + oh) * d.out[2] + ow;
  }
  // dy[n, g*kg + k, o] with o the output that tap reads input i from, or 0.
  __device__ float b(int64_t g, int64_t r, int64_t p) const {
    const float* v = b_address(g, r, p);
    return v ? *v : 0.0f;
  }
  // dx[n, g*cg + c, i] = v.
  __device__ void store(int64_t g, int64_t, int64_t c, int64_t p, float v) const {
    const int64_t n = p / z.in_volume, i = p % z.in_volume;
    dx[(n * d.c + g * z.cg + c) * z.in_volume + i] = v;
  }
};

// Backward-weights: A = dy (filter k, r = (n, o)), B = patches transposed (r, column (c, tap)),
// out = dw, or split `split`'s slice of the workspace when the reduction is split.
struct WeightsOps {
  ConvDesc d;
  ConvSizes z;
  IgemmShape s;
  const float* x;
  const float* dy;
  float* out;
  // Address of dy[n, g*kg + k, o].
  __device__ const float* a_address(int64_t g, int64_t k, int64_t r) const {
    const int64_t n = r / z.out_volume, o = r % z.out_volume;
    return dy + (n * d.k + g * z.kg + k) * z.out_volume + o;
  }
  // dy[n, g*kg + k, o].
  __device__ float a(int64_t g, int64_t k, int64_t r) const { return *a_address(g, k, r); }
  // Address of x at output r = (n, o) under tap col = (c, tap), nullptr in the padding.
  __device__ const float* b_address(int64_t g, int64_t r, int64_t col) const {
    return patch_address(d, z, x, g, col, r);
  }
  // x at output r = (n, o) under tap col = (c, tap).
  __device__ float b(int64_t g, int64_t r, int64_t col) const {
    return gather_patch(d, z, x, g, col, r);
  }
  // out[split][g*kg + k][col] = v.
  __device__ void store(int64_t g, int64_t split, int64_t k, int64_t col, float v) const {
    out[(split * d.k + g * z.kg + k) * s.cols + col] = v;
  }
};

// The forward pass's operands on d's tensors.
inline ForwardOps forward_ops(const ConvDesc& d, const float* x, const float* w, const float* bias,
                              float* y) {
  const ConvSizes z = sizes_of(d);
  return {d, z, {z.kg, d.n * z.out_volume, z.cg * z.taps}, x, w, bias, y};
}

// The backward-data pass's operands on d's tensors.
inline DataOps data_ops(const ConvDesc& d, const float* dy, const float* w, float* dx) {
  const ConvSizes z = sizes_of(d);
  return {d, z, {z.cg, d.n * z.in_volume, z.kg * z.taps}, dy, w, dx};
}

// The block tile every implicit-GEMM kernel computes (rows x columns) and its threads.
constexpr int kTile = 128, kTileThreads = 256;

// Launches kernel over ops.s in kTile x kTile tiles of kTileThreads threads, grid z = zdim, shmem
// bytes of dynamic shared memory; invalid configuration when a grid side is too long.
template <class Ops, class... Extra>
cudaError_t launch_tiles(void (*kernel)(Ops, Extra...), const Ops& ops, int64_t zdim, size_t shmem,
                         Extra... extra) {
  if (ops.s.rows == 0 || ops.s.cols == 0) return cudaSuccess;
  const int64_t grid_x = (ops.s.cols + kTile - 1) / kTile,
                grid_y = (ops.s.rows + kTile - 1) / kTile;
  if (zdim > 65535 || grid_y > 65535 || grid_x > 0x7fffffff) return cudaErrorInvalidConfiguration;
  launch_kernel(kernel, dim3(unsigned(grid_x), unsigned(grid_y), unsigned(zdim)),
                dim3(kTileThreads), shmem, current_stream(), ops, extra...);
  return cudaGetLastError();
}

// A backward-weights tile kernel: block (column tile, row tile, group + groups * split), split
// covering reduction indices [split * chunk, (split + 1) * chunk).
using WeightsKernel = void (*)(WeightsOps, int64_t);

// Backward-weights on any tile kernel: the split tile kernel (straight into dw when one split),
// the fixed-order reduction of the splits and dbias (when not null); `workspace` holds
// conv_igemm_workspace_bytes(d) bytes; launch status.
cudaError_t backward_weights(WeightsKernel kernel, size_t shmem, const ConvDesc& d, const float* x,
                             const float* dy, float* dw, float* dbias, float* workspace);

}  // namespace signet::cuda::igemm
