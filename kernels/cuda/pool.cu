#include "kernels/cuda/pool.h"
#include "kernels/cuda/stream.h"

#include <cmath>

namespace signet::cuda {
namespace {

using kernels::PoolDesc;

constexpr int kThreads = 256;

// A (d, h, w) position.
struct Pos {
  int64_t v[3];
};

// The position of the row-major index o over extents e.
__device__ __forceinline__ Pos position(int64_t o, const int64_t* e) {
  return Pos{{o / (e[1] * e[2]), o / e[2] % e[1], o % e[2]}};
}

// Floor division for a possibly negative numerator and a positive divisor.
__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The [lo, hi) range of strided windows (begin o*stride - pad, dilated kernel) that can cover
// input position i along dim s.
__device__ __forceinline__ void covering(const PoolDesc& d, int s, int64_t i, int64_t& lo,
                                         int64_t& hi) {
  const int64_t span = (d.kernel[s] - 1) * d.dilation[s];
  lo = floor_div(i + d.pad[s] - span + d.stride[s] - 1, d.stride[s]);
  hi = floor_div(i + d.pad[s], d.stride[s]) + 1;
  if (lo < 0) lo = 0;
  if (hi > d.out[s]) hi = d.out[s];
}

// The clipped [begin, end) of strided window position p along dim s, and its padded extent.
__device__ __forceinline__ void window(const PoolDesc& d, int s, int64_t p, int64_t& begin,
                                       int64_t& end, int64_t& padded) {
  const int64_t b = p * d.stride[s] - d.pad[s];
  int64_t e = b + (d.kernel[s] - 1) * d.dilation[s] + 1;
  if (e > d.in[s] + d.pad[s]) e = d.in[s] + d.pad[s];
  padded = e - b;
  begin = b < 0 ? 0 : b;
  end = e < d.in[s] ? e : d.in[s];
}

// The averaging divisor of output position p (PyTorch's rule, see PoolDesc).
__device__ __forceinline__ int64_t divisor(const PoolDesc& d, const Pos& p) {
  int64_t padded = 1, inside = 1;
  for (int s = 0; s < 3; ++s) {
    int64_t b, e, pe;
    window(d, s, p.v[s], b, e, pe);
    padded *= pe;
    inside *= e > b ? e - b : 0;
  }
  return d.count_include_pad ? padded : inside;
}

// The adaptive window [begin, end) of output position p along dim s.
__device__ __forceinline__ void adaptive(const PoolDesc& d, int s, int64_t p, int64_t& begin,
                                         int64_t& end) {
  begin = p * d.in[s] / d.out[s];
  end = ((p + 1) * d.in[s] + d.out[s] - 1) / d.out[s];
}

// A box of positions: [begin[s], end[s]) stepping step[s] along each of the three dims.
struct Box {
  int64_t begin[3], end[3], step[3];
};

// The one window iterator of the pooling kernels: calls fn(offset, position) for each position
// of box in row-major order (d, then h, then w), offset being its row-major index over extents
// ext. The forward kernels walk input taps, the backward kernels the outputs covering an input.
template <class Fn>
__device__ __forceinline__ void for_box(const Box& box, const int64_t* ext, Fn fn) {
  for (int64_t a = box.begin[0]; a < box.end[0]; a += box.step[0])
    for (int64_t b = box.begin[1]; b < box.end[1]; b += box.step[1])
      for (int64_t c = box.begin[2]; c < box.end[2]; c += box.step[2])
        fn((a * ext[1] + b) * ext[2] + c, Pos{{a, b, c}});
}

// The in-bounds taps of output p's dilated window (max pooling).
__device__ __forceinline__ Box dilated_taps(const PoolDesc& d, const Pos& p) {
  Box box;
  for (int s = 0; s < 3; ++s) {
    int64_t b = p.v[s] * d.stride[s] - d.pad[s];
    const int64_t e = b + (d.kernel[s] - 1) * d.dilation[s] + 1;
    while (b < 0) b += d.dilation[s];
    box.begin[s] = b;
    box.end[s] = e < d.in[s] ? e : d.in[s];
    box.step[s] = d.dilation[s];
  }
  return box;
}

// The in-bounds taps of output p's window (average pooling).
__device__ __forceinline__ Box clipped_taps(const PoolDesc& d, const Pos& p) {
  Box box;
  for (int s = 0; s < 3; ++s) {
    int64_t padded;
    window(d, s, p.v[s], box.begin[s], box.end[s], padded);
    box.step[s] = 1;
  }
  return box;
}

// The taps of output p's adaptive window.
__device__ __forceinline__ Box adaptive_taps(const PoolDesc& d, const Pos& p) {
  Box box;
  for (int s = 0; s < 3; ++s) {
    adaptive(d, s, p.v[s], box.begin[s], box.end[s]);
    box.step[s] = 1;
  }
  return box;
}

// The outputs whose strided windows can cover input position p (max and average backward).
__device__ __forceinline__ Box covering_outputs(const PoolDesc& d, const Pos& p) {
  Box box;
  for (int s = 0; s < 3; ++s) {
    covering(d, s, p.v[s], box.begin[s], box.end[s]);
    box.step[s] = 1;
  }
  return box;
}

// The outputs whose adaptive windows can cover input position p.
__device__ __forceinline__ Box adaptive_outputs(const PoolDesc& d, const Pos& p) {
  Box box;
  for (int s = 0; s < 3; ++s) {
    box.begin[s] = p.v[s] * d.out[s] / d.in[s];
    box.end[s] = ((p.v[s] + 1) * d.out[s] + d.in[s] - 1) / d.in[s];
    box.step[s] = 1;
  }
  return box;
}

// One thread per output: scans the dilated window's in-bounds taps in order as the reference.
__global__ void max_pool_forward_kernel(PoolDesc d, int64_t total, const float* __restrict__ x,
                                        float* __restrict__ y, int64_t* __restrict__ idx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const float* xp = x + (t / out_vol) * in_vol;
    float best = -INFINITY;
    int64_t at = -1;
    for_box(dilated_taps(d, position(t % out_vol, d.out)), d.in, [&](int64_t i, const Pos&) {
      const float v = xp[i];
      if (at < 0 || v > best || v != v) {  // v != v: a NaN wins
        best = v;
        at = i;
      }
    });
    y[t] = best;
    idx[t] = at;
  }
}

// One thread per input element: sums, in output order, the dy of the windows that chose it.
__global__ void max_pool_backward_kernel(PoolDesc d, int64_t total, const float* __restrict__ dy,
                                         const int64_t* __restrict__ idx, float* __restrict__ dx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t i = t % in_vol, base = t / in_vol * out_vol;
    float acc = 0.0f;
    for_box(covering_outputs(d, position(i, d.in)), d.out, [&](int64_t o, const Pos&) {
      if (idx[base + o] == i) acc += dy[base + o];
    });
    dx[t] = acc;
  }
}

// One thread per output: the in-bounds window sum over the divisor.
__global__ void avg_pool_forward_kernel(PoolDesc d, int64_t total, const float* __restrict__ x,
                                        float* __restrict__ y) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const float* xp = x + (t / out_vol) * in_vol;
    const Pos p = position(t % out_vol, d.out);
    float acc = 0.0f;
    for_box(clipped_taps(d, p), d.in, [&](int64_t i, const Pos&) { acc += xp[i]; });
    y[t] = acc / float(divisor(d, p));
  }
}

// One thread per input element: sums dy / divisor over the windows covering it, in output order.
__global__ void avg_pool_backward_kernel(PoolDesc d, int64_t total, const float* __restrict__ dy,
                                         float* __restrict__ dx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t base = t / in_vol * out_vol;
    const Pos p = position(t % in_vol, d.in);
    float acc = 0.0f;
    for_box(covering_outputs(d, p), d.out, [&](int64_t o, const Pos& q) {
      bool inside = true;
      for (int s = 0; s < 3; ++s) {
        int64_t b, e, pe;
        window(d, s, q.v[s], b, e, pe);
        inside = inside && p.v[s] >= b && p.v[s] < e;
      }
      if (inside) acc += dy[base + o] / float(divisor(d, q));
    });
    dx[t] = acc;
  }
}

// One thread per output: the adaptive window's sum over its size.
__global__ void adaptive_pool_forward_kernel(PoolDesc d, int64_t total, const float* __restrict__ x,
                                             float* __restrict__ y) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const float* xp = x + (t / out_vol) * in_vol;
    const Box box = adaptive_taps(d, position(t % out_vol, d.out));
    float acc = 0.0f;
    for_box(box, d.in, [&](int64_t i, const Pos&) { acc += xp[i]; });
    y[t] = acc / float((box.end[0] - box.begin[0]) * (box.end[1] - box.begin[1]) *
                       (box.end[2] - box.begin[2]));
  }
}

// Global average pooling: block b sums plane b (thread t adds elements t, t + kThreads, ... in
// order, then a shared-memory tree) and divides by the plane size.
__global__ void global_avg_pool_kernel(int64_t planes, int64_t in_vol, const float* __restrict__ x,
                                       float* __restrict__ y) {
  __shared__ float partial[kThreads];
  for (int64_t plane = blockIdx.x; plane < planes; plane += gridDim.x) {
    const float* xp = x + plane * in_vol;
    float acc = 0.0f;
    for (int64_t i = threadIdx.x; i < in_vol; i += kThreads) acc += xp[i];
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) y[plane] = partial[0] / float(in_vol);
    __syncthreads();
  }
}

// One thread per input element: sums dy / size over the adaptive windows covering it.
__global__ void adaptive_pool_backward_kernel(PoolDesc d, int64_t total,
                                              const float* __restrict__ dy,
                                              float* __restrict__ dx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t base = t / in_vol * out_vol;
    const Pos p = position(t % in_vol, d.in);
    float acc = 0.0f;
    for_box(adaptive_outputs(d, p), d.out, [&](int64_t o, const Pos& q) {
      int64_t size = 1;
      bool inside = true;
      for (int s = 0; s < 3; ++s) {
        int64_t b, e;
        adaptive(d, s, q.v[s], b, e);
        size *= e - b;
        inside = inside && p.v[s] >= b && p.v[s] < e;
      }
      if (inside) acc += dy[base + o] / float(size);
    });
    dx[t] = acc;
  }
}

// Blocks for `work` items: one per kThreads, at most 8192 (the grid-stride loops do the rest).
int blocks_for(int64_t work) {
  const int64_t wanted = (work + kThreads - 1) / kThreads;
  return int(wanted < 8192 ? wanted : 8192);
}

// Output elements over all planes.
int64_t out_total(const PoolDesc& d) {
  return d.planes * d.out[0] * d.out[1] * d.out[2];
}

// Input elements over all planes.
int64_t in_total(const PoolDesc& d) {
  return d.planes * d.in[0] * d.in[1] * d.in[2];
}

}  // namespace

// One thread per output element.
cudaError_t max_pool_forward_f32(const PoolDesc& d, const float* x, float* y, int64_t* idx) {
  const int64_t total = out_total(d);
  if (total == 0) return cudaSuccess;
  launch_kernel(max_pool_forward_kernel, blocks_for(total), kThreads, 0, current_stream(), d, total,
                x, y, idx);
  return cudaGetLastError();
}

// One thread per input element.
cudaError_t max_pool_backward_f32(const PoolDesc& d, const float* dy, const int64_t* idx,
                                  float* dx) {
  const int64_t total = in_total(d);
  if (total == 0) return cudaSuccess;
  launch_kernel(max_pool_backward_kernel, blocks_for(total), kThreads, 0, current_stream(), d,
                total, dy, idx, dx);
  return cudaGetLastError();
}

// One thread per output element.
cudaError_t avg_pool_forward_f32(const PoolDesc& d, const float* x, float* y) {
  const int64_t total = out_total(d);
  if (total == 0) return cudaSuccess;
  launch_kernel(avg_pool_forward_kernel, blocks_for(total), kThreads, 0, current_stream(), d, total,
                x, y);
  return cudaGetLastError();
}

// One thread per input element.
cudaError_t avg_pool_backward_f32(const PoolDesc& d, const float* dy, float* dx) {
  const int64_t total = in_total(d);
  if (total == 0) return cudaSuccess;
  launch_kernel(avg_pool_backward_kernel, blocks_for(total), kThreads, 0, current_stream(), d,
                total, dy, dx);
  return cudaGetLastError();
}

// Global pooling (output 1 x 1 x 1): one block per plane; otherwise one thread per output.
cudaError_t adaptive_avg_pool_forward_f32(const PoolDesc& d, const float* x, float* y) {
  const int64_t total = out_total(d);
  if (total == 0) return cudaSuccess;
  if (total == d.planes) {
    const int blocks = int(d.planes < 65535 ? d.planes : 65535);
    launch_kernel(global_avg_pool_kernel, blocks, kThreads, 0, current_stream(), d.planes,
                  d.in[0] * d.in[1] * d.in[2], x, y);
  } else {
    launch_kernel(adaptive_pool_forward_kernel, blocks_for(total), kThreads, 0, current_stream(), d,
                  total, x, y);
  }
  return cudaGetLastError();
}

// One thread per input element.
cudaError_t adaptive_avg_pool_backward_f32(const PoolDesc& d, const float* dy, float* dx) {
  const int64_t total = in_total(d);
  if (total == 0) return cudaSuccess;
  launch_kernel(adaptive_pool_backward_kernel, blocks_for(total), kThreads, 0, current_stream(), d,
                total, dy, dx);
  return cudaGetLastError();
}

}  // namespace signet::cuda
