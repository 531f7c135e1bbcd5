#include "kernels/cuda/conv_igemm.h"

#include "kernels/cuda/ptx.h"

namespace signet::cuda {
namespace {

using kernels::ConvDesc;

// ---- v2: implicit GEMM. Changes from v1 (conv_naive.cu): the 128x128x8 register tiling of GEMM
// v3 with both operands gathered into shared memory slice by slice, so each input value is
// fetched once per tile instead of once per output; should gain ~5-10x over v1.
constexpr int kBM = 128, kBN = 128, kBK = 8, kThreads = 256;
// Backward-weights: blocks wanted in flight, and the least reduction length one split gets.
constexpr int64_t kWantedBlocks = 256, kMinSplitDepth = 1024;

// The problem in GEMM terms for one group: rows x cols outputs over depth products.
struct IgemmShape {
  int64_t rows, cols, depth;
};

// Sizes every operand functor needs.
struct ConvSizes {
  int64_t in_volume, out_volume, taps, cg, kg;
};

ConvSizes sizes_of(const ConvDesc& d) {
  return {kernels::conv_in_volume(d), kernels::conv_out_volume(d), kernels::conv_kernel_volume(d),
          d.c / d.groups, d.k / d.groups};
}

// Input value x[n, g*cg + ch, o*stride - pad + tap*dilation] for reduction index r = (ch, tap) and
// output column p = (n, o) of group g; 0 in the padding.
__device__ __forceinline__ float gather_patch(const ConvDesc& d, const ConvSizes& z,
                                              const float* __restrict__ x, int64_t g, int64_t r,
                                              int64_t p) {
  const int64_t ch = r / z.taps, tap = r % z.taps;
  const int64_t kw = tap % d.kernel[2], kh = tap / d.kernel[2] % d.kernel[1],
                kd = tap / (d.kernel[2] * d.kernel[1]);
  const int64_t n = p / z.out_volume, pos = p % z.out_volume;
  const int64_t ow = pos % d.out[2], oh = pos / d.out[2] % d.out[1],
                od = pos / (d.out[2] * d.out[1]);
  const int64_t id = od * d.stride[0] - d.pad[0] + kd * d.dilation[0];
  const int64_t ih = oh * d.stride[1] - d.pad[1] + kh * d.dilation[1];
  const int64_t iw = ow * d.stride[2] - d.pad[2] + kw * d.dilation[2];
  if (id < 0 || id >= d.in[0] || ih < 0 || ih >= d.in[1] || iw < 0 || iw >= d.in[2]) return 0.0f;
  const int64_t plane = n * d.c + g * z.cg + ch;
  return x[((plane * d.in[0] + id) * d.in[1] + ih) * d.in[2] + iw];
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
  // Weight w[g*kg + f, r].
  __device__ float a(int64_t g, int64_t f, int64_t r) const {
    return w[(g * s.rows + f) * s.depth + r];
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
  // Weight w[g*kg + k, c, tap].
  __device__ float a(int64_t g, int64_t c, int64_t r) const {
    const int64_t k = r / z.taps, tap = r % z.taps;
    return w[((g * z.kg + k) * z.cg + c) * z.taps + tap];
  }
  // dy[n, g*kg + k, o] with o the output that tap reads input i from, or 0.
  __device__ float b(int64_t g, int64_t r, int64_t p) const {
    const int64_t k = r / z.taps, tap = r % z.taps;
    const int64_t n = p / z.in_volume, i = p % z.in_volume;
    const int64_t od = source(d, 0, i / (d.in[1] * d.in[2]), tap / (d.kernel[1] * d.kernel[2]));
    const int64_t oh = source(d, 1, i / d.in[2] % d.in[1], tap / d.kernel[2] % d.kernel[1]);
    const int64_t ow = source(d, 2, i % d.in[2], tap % d.kernel[2]);
    if (od < 0 || oh < 0 || ow < 0) return 0.0f;
    return dy[(n * d.k + g * z.kg + k) * z.out_volume + (od * d.out[1] + oh) * d.out[2] + ow];
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
  // dy[n, g*kg + k, o].
  __device__ float a(int64_t g, int64_t k, int64_t r) const {
    const int64_t n = r / z.out_volume, o = r % z.out_volume;
    return dy[(n * d.k + g * z.kg + k) * z.out_volume + o];
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

// One 128x128 output tile of group g over reduction indices [r_begin, r_end): A rows by 128..,
// B columns bx*128..; thread t owns GEMM v3's 8x8 split (rows ty*4.. and 64+ty*4.., columns
// likewise with tx); the results go to ops.store.
template <class Ops>
__device__ __forceinline__ void igemm_tile(const Ops& ops, float* smem, int64_t g, int64_t split,
                                           int64_t r_begin, int64_t r_end) {
  float* as = smem;              // as[r][row], kBK x kBM
  float* bs = smem + kBK * kBM;  // bs[r][column], kBK x kBN
  const int tid = int(threadIdx.x), tx = tid % 16, ty = tid / 16;
  const int64_t row0 = int64_t(blockIdx.y) * kBM, col0 = int64_t(blockIdx.x) * kBN;
  const IgemmShape& s = ops.s;
  float acc[8][8];
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kBK) {
    {  // A: row o, reduction indices q..q+3
      const int o = tid / 2, q = (tid % 2) * 4;
      for (int i = 0; i < 4; ++i) {
        const int64_t f = row0 + o, r = r0 + q + i;
        as[(q + i) * kBM + o] = f < s.rows && r < r_end ? ops.a(g, f, r) : 0.0f;
      }
    }
    {  // B: reduction index r0 + q, columns o..o+3
      const int q = tid / 32, o = (tid % 32) * 4;
      const int64_t r = r0 + q;
      for (int i = 0; i < 4; ++i) {
        const int64_t p = col0 + o + i;
        bs[q * kBN + o + i] = r < r_end && p < s.cols ? ops.b(g, r, p) : 0.0f;
      }
    }
    __syncthreads();
    for (int q = 0; q < kBK; ++q) {
      const float4* a4 = reinterpret_cast<const float4*>(as + q * kBM);
      const float4* b4 = reinterpret_cast<const float4*>(bs + q * kBN);
      const float4 a0 = a4[ty], a1 = a4[16 + ty], b0 = b4[tx], b1 = b4[16 + tx];
      const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 8; ++i) {
    const int64_t f = row0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
    if (f >= s.rows) continue;
    for (int j = 0; j < 8; ++j) {
      const int64_t p = col0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
      if (p < s.cols) ops.store(g, split, f, p, acc[i][j]);
    }
  }
}

// Forward: block (column tile, filter tile, group).
__global__ void __launch_bounds__(kThreads) conv_igemm_forward_kernel(ForwardOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_tile(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// ---- v3: tf32 tensor cores. Changes from v2: the forward's GEMM on mma.sync m16n8k8 with
// tf32-rounded operands (8x the fp32 FMA rate on sm_80), GEMM v4's 128x128x16 block tile and
// 64x32 warp tiles; single-buffered (the patch gather is not a plain copy, so no cp.async); should
// gain ~2-4x over v2 where the depth C/groups * taps is long.
constexpr int kTcBK = 16;
constexpr int kTcAStride = kTcBK + 4;  // as[filter][r]: row g * 20 + t hits 32 distinct banks
constexpr int kTcBStride = kBN + 8;    // bs[r][column]: row t * 136 + g hits 32 distinct banks

// y at (filter row f, column p) of group g, plus bias, for the pair (p, p + 1) inside the tile.
__device__ __forceinline__ void store_pair(const ForwardOps& ops, int64_t g, int64_t f, int64_t p,
                                           float v0, float v1) {
  if (f >= ops.s.rows) return;
  if (p < ops.s.cols) ops.store(g, 0, f, p, v0);
  if (p + 1 < ops.s.cols) ops.store(g, 0, f, p + 1, v1);
}

// The four 16x8 accumulator tiles v of one 16-row band of the warp's tile, at (f, p) for this
// lane's first element.
__device__ __forceinline__ void store_band(const ForwardOps& ops, int64_t g, int64_t f, int64_t p,
                                           const float (&v)[4][4]) {
  for (int ni = 0; ni < 4; ++ni) {
    store_pair(ops, g, f, p + ni * 8, v[ni][0], v[ni][1]);
    store_pair(ops, g, f + 8, p + ni * 8, v[ni][2], v[ni][3]);
  }
}

// Block (column tile, filter tile, group), 8 warps as 2 (filters) x 4 (columns): per kTcBK slice
// the weights (128 x 16, 8 a thread) and the gathered patches (16 x 128, 8 a thread, adjacent
// threads on adjacent columns) go to shared memory, then each warp runs its 4 x 4 mma tiles on
// both 8-deep halves.
__global__ void __launch_bounds__(kThreads, 1) conv_igemm_tf32_forward_kernel(ForwardOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  float* as = smem;                     // as[f][r], kBM x kTcAStride
  float* bs = smem + kBM * kTcAStride;  // bs[r][p], kTcBK x kTcBStride
  const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
  const int wm = warp / 4, wn = warp % 4, g8 = lane / 4, t4 = lane % 4;
  const int64_t g = blockIdx.z, row0 = int64_t(blockIdx.y) * kBM, col0 = int64_t(blockIdx.x) * kBN;
  const IgemmShape& s = ops.s;
  float acc[4][4][4];
  for (int mi = 0; mi < 4; ++mi)
    for (int ni = 0; ni < 4; ++ni)
      for (int e = 0; e < 4; ++e) acc[mi][ni][e] = 0.0f;
  for (int64_t r0 = 0; r0 < s.depth; r0 += kTcBK) {
    {  // weights: filter o, reduction indices q..q+7 (contiguous in w)
      const int o = tid / 2, q = (tid % 2) * 8;
      for (int i = 0; i < 8; ++i) {
        const int64_t f = row0 + o, r = r0 + q + i;
        as[o * kTcAStride + q + i] = f < s.rows && r < s.depth ? ops.a(g, f, r) : 0.0f;
      }
    }
    for (int i = 0; i < 8; ++i) {  // patches: element tid + 256 i of the 16 x 128 slice
      const int e = tid + i * kThreads, q = e / kBN, o = e % kBN;
      const int64_t r = r0 + q, p = col0 + o;
      bs[q * kTcBStride + o] = r < s.depth && p < s.cols ? ops.b(g, r, p) : 0.0f;
    }
    __syncthreads();
    for (int kk = 0; kk < kTcBK; kk += 8) {
      uint32_t af[4][4], bf[4][2];
      for (int mi = 0; mi < 4; ++mi) {
        const float* ar = as + (wm * 64 + mi * 16 + g8) * kTcAStride + kk + t4;
        af[mi][0] = f32_to_tf32(ar[0]);
        af[mi][1] = f32_to_tf32(ar[8 * kTcAStride]);
        af[mi][2] = f32_to_tf32(ar[4]);
        af[mi][3] = f32_to_tf32(ar[8 * kTcAStride + 4]);
      }
      for (int ni = 0; ni < 4; ++ni) {
        const float* bc = bs + (kk + t4) * kTcBStride + wn * 32 + ni * 8 + g8;
        bf[ni][0] = f32_to_tf32(bc[0]);
        bf[ni][1] = f32_to_tf32(bc[4 * kTcBStride]);
      }
      for (int mi = 0; mi < 4; ++mi)
        for (int ni = 0; ni < 4; ++ni) mma_m16n8k8_tf32(acc[mi][ni], af[mi], bf[ni], acc[mi][ni]);
    }
    __syncthreads();
  }
  const int64_t f = row0 + wm * 64 + g8, p = col0 + wn * 32 + t4 * 2;
  // One call per 16-row band, spelled out (a rolled 4 x 4 x 4 nest would put acc in local memory).
  store_band(ops, g, f, p, acc[0]);
  store_band(ops, g, f + 16, p, acc[1]);
  store_band(ops, g, f + 32, p, acc[2]);
  store_band(ops, g, f + 48, p, acc[3]);
}

// Backward-data: block (input-column tile, channel tile, group).
__global__ void __launch_bounds__(kThreads) conv_igemm_data_kernel(DataOps ops) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  igemm_tile(ops, smem, blockIdx.z, 0, 0, ops.s.depth);
}

// Backward-weights: block (tap-column tile, filter tile, group + groups * split); split covers
// reduction indices [split*chunk, (split+1)*chunk).
__global__ void __launch_bounds__(kThreads, 1)
    conv_igemm_weights_kernel(WeightsOps ops, int64_t chunk) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  const int64_t g = blockIdx.z % ops.d.groups, split = blockIdx.z / ops.d.groups;
  const int64_t begin = split * chunk, end = begin + chunk;
  igemm_tile(ops, smem, g, split, begin, end < ops.s.depth ? end : ops.s.depth);
}

// dw[e] = the sum of the splits' partials of element e, in split order (deterministic).
__global__ void conv_igemm_weights_reduce_kernel(const float* __restrict__ ws, int64_t splits,
                                                 int64_t total, float* __restrict__ dw) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    float acc = 0.0f;
    for (int64_t sp = 0; sp < splits; ++sp) acc += ws[sp * total + e];
    dw[e] = acc;
  }
}

// dbias[k] = the sum of dy[:, k, :]: one block per filter, strided partial sums then a fixed tree.
__global__ void __launch_bounds__(kThreads, 1)
    conv_igemm_bias_kernel(ConvDesc d, int64_t out_volume, const float* __restrict__ dy,
                           float* __restrict__ dbias) {
  __shared__ float partial[kThreads];
  const int64_t k = blockIdx.x, total = d.n * out_volume;
  float acc = 0.0f;
  for (int64_t e = threadIdx.x; e < total; e += kThreads)
    acc += dy[(e / out_volume * d.k + k) * out_volume + e % out_volume];
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) dbias[k] = partial[0];
}

// Blocks for a grid-stride loop over `work` items (at most 8192).
unsigned blocks_for(int64_t work) {
  const int64_t wanted = (work + kThreads - 1) / kThreads;
  return unsigned(wanted < 8192 ? wanted : 8192);
}

// Launches the tile kernel over s with grid z = zdim; invalid configuration when a grid side is
// too long.
template <class Ops, class... Extra>
cudaError_t launch_tiles(void (*kernel)(Ops, Extra...), const Ops& ops, int64_t zdim,
                         Extra... extra) {
  if (ops.s.rows == 0 || ops.s.cols == 0) return cudaSuccess;
  const int64_t grid_x = (ops.s.cols + kBN - 1) / kBN, grid_y = (ops.s.rows + kBM - 1) / kBM;
  if (zdim > 65535 || grid_y > 65535 || grid_x > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const size_t shmem = size_t(kBK) * (kBM + kBN) * sizeof(float);
  launch_kernel(kernel, dim3(unsigned(grid_x), unsigned(grid_y), unsigned(zdim)), dim3(kThreads),
                shmem, nullptr, ops, extra...);
  return cudaGetLastError();
}

// The reduction length each backward-weights split covers (a multiple of kBK).
int64_t weights_chunk(const ConvDesc& d) {
  const ConvSizes z = sizes_of(d);
  const int64_t depth = d.n * z.out_volume;
  const int64_t tiles = d.groups * ((z.kg + kBM - 1) / kBM) * ((z.cg * z.taps + kBN - 1) / kBN);
  int64_t splits = (kWantedBlocks + tiles - 1) / tiles;
  if (splits > depth / kMinSplitDepth) splits = depth / kMinSplitDepth;
  if (splits < 1) splits = 1;
  const int64_t chunk = (depth + splits - 1) / splits;
  return (chunk + kBK - 1) / kBK * kBK;
}

}  // namespace

// 256 threads and 8 KiB of shared memory a block, one grid z per group (at most 65535).
cudaError_t conv_v2_igemm_forward_f32(const ConvDesc& d, const float* x, const float* w,
                                      const float* bias, float* y) {
  const ConvSizes z = sizes_of(d);
  const IgemmShape s{z.kg, d.n * z.out_volume, z.cg * z.taps};
  return launch_tiles(conv_igemm_forward_kernel, ForwardOps{d, z, s, x, w, bias, y}, d.groups);
}

// v2's operands on v3's tile: 256 threads, (128 x 20 + 16 x 136) floats of shared memory.
cudaError_t conv_v3_igemm_tf32_forward_f32(const ConvDesc& d, const float* x, const float* w,
                                           const float* bias, float* y) {
  const ConvSizes z = sizes_of(d);
  const IgemmShape s{z.kg, d.n * z.out_volume, z.cg * z.taps};
  if (s.rows == 0 || s.cols == 0) return cudaSuccess;
  const int64_t grid_x = (s.cols + kBN - 1) / kBN, grid_y = (s.rows + kBM - 1) / kBM;
  if (d.groups > 65535 || grid_y > 65535 || grid_x > 0x7fffffff)
    return cudaErrorInvalidConfiguration;
  const size_t shmem = size_t(kBM * kTcAStride + kTcBK * kTcBStride) * sizeof(float);
  launch_kernel(conv_igemm_tf32_forward_kernel,
                dim3(unsigned(grid_x), unsigned(grid_y), unsigned(d.groups)), dim3(kThreads), shmem,
                nullptr, ForwardOps{d, z, s, x, w, bias, y});
  return cudaGetLastError();
}

// As forward, with the roles of input and output swapped.
cudaError_t conv_v2_igemm_backward_data_f32(const ConvDesc& d, const float* dy, const float* w,
                                            float* dx) {
  const ConvSizes z = sizes_of(d);
  const IgemmShape s{z.cg, d.n * z.in_volume, z.kg * z.taps};
  return launch_tiles(conv_igemm_data_kernel, DataOps{d, z, s, dy, w, dx}, d.groups);
}

// ceil(N*outvol / chunk) splits.
int64_t conv_igemm_weights_splits(const ConvDesc& d) {
  const int64_t depth = d.n * kernels::conv_out_volume(d);
  if (depth == 0) return 1;
  const int64_t chunk = weights_chunk(d);
  return (depth + chunk - 1) / chunk;
}

// One fp32 partial dW per split when there is more than one split.
size_t conv_igemm_workspace_bytes(const ConvDesc& d) {
  const int64_t splits = conv_igemm_weights_splits(d);
  if (splits == 1) return 0;
  return size_t(splits) * size_t(d.k * (d.c / d.groups) * kernels::conv_kernel_volume(d)) *
         sizeof(float);
}

// The split tile kernel (straight into dw when one split), the fixed-order reduction, dbias.
cudaError_t conv_v2_igemm_backward_weights_f32(const ConvDesc& d, const float* x, const float* dy,
                                               float* dw, float* dbias, float* workspace) {
  const ConvSizes z = sizes_of(d);
  const IgemmShape s{z.kg, z.cg * z.taps, d.n * z.out_volume};
  const int64_t splits = conv_igemm_weights_splits(d), total = d.k * s.cols;
  if (total == 0) return cudaSuccess;
  if (splits > 1 && !workspace) return cudaErrorInvalidValue;
  if (s.depth == 0) {  // no output positions: the gradients are zero
    cudaError_t status = cudaMemset(dw, 0, size_t(total) * sizeof(float));
    if (status == cudaSuccess && dbias) status = cudaMemset(dbias, 0, size_t(d.k) * sizeof(float));
    return status;
  }
  cudaError_t status = launch_tiles(conv_igemm_weights_kernel,
                                    WeightsOps{d, z, s, x, dy, splits > 1 ? workspace : dw},
                                    d.groups * splits, weights_chunk(d));
  if (status == cudaSuccess && splits > 1) {
    launch_kernel(conv_igemm_weights_reduce_kernel, dim3(blocks_for(total)), dim3(kThreads), 0,
                  nullptr, static_cast<const float*>(workspace), splits, total, dw);
    status = cudaGetLastError();
  }
  if (status != cudaSuccess || !dbias) return status;
  if (d.k > 0x7fffffff) return cudaErrorInvalidConfiguration;
  launch_kernel(conv_igemm_bias_kernel, dim3(unsigned(d.k)), dim3(kThreads), 0, nullptr, d,
                z.out_volume, dy, dbias);
  return cudaGetLastError();
}

}  // namespace signet::cuda
