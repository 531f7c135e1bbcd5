// The fused ConvLSTM layer (v3): the interleaving of W_h's rows, the per-step fused h-path
// convolution + cell kernel, the cell gradient kernel with peepholes, the peephole gradient sums,
// and the host drivers around conv_igemm.h's v2 convolutions.
#include "kernels/cuda/convlstm_fused.h"

#include <algorithm>

#include "kernels/common/activations.h"
#include "kernels/common/conv_desc.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/conv_igemm_ops.h"
#include "kernels/cuda/conv_igemm_tile.h"
#include "kernels/cuda/gemm_register_tile.h"
#include "kernels/cuda/seq_driver.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::ConvDesc;
using kernels::ConvLstmBuffers;
using kernels::ConvLstmDesc;
using kernels::ConvLstmGrads;
using kernels::ConvLstmPeepholes;
using register_tile::kCols;
using register_tile::kRows;
using register_tile::kThreads;

// What the fused step kernel reads and writes (see convlstm_fused.h); w_hi is W_h interleaved.
struct FusedStep {
  ConvDesc conv;  // the h-path convolution of one step: N images, hid -> 4 hid channels
  igemm::ConvSizes z;
  int64_t hid, plane, cols, depth, step;
  int peephole;
  const int64_t* lengths;
  const float *w_hi, *h_prev, *c_prev, *ci, *cf, *co;
  float *act, *c, *h, *y;
  // A of the h-path product: w_hi[row, r].
  __device__ float a(int64_t, int64_t row, int64_t r) const { return w_hi[row * depth + r]; }
  // B: the patch of h_prev at reduction index r under column p.
  __device__ float b(int64_t, int64_t r, int64_t p) const {
    return igemm::gather_patch(conv, z, h_prev, 0, r, p);
  }
};

// Row 4 ch + q of w_hi = row q hid + ch of w_h (depth values each), for every row.
__global__ void convlstm_interleave_kernel(int64_t hid, int64_t depth, const float* w_h,
                                           float* w_hi) {
  const int64_t n = 4 * hid * depth, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
    const int64_t row = e / depth, r = e - row * depth;
    w_hi[e] = w_h[((row % 4) * hid + row / 4) * depth + r];
  }
}

// The peephole weight of unit (ch, pos), 0 without peepholes.
__device__ __forceinline__ float peep_at(const float* p, int mode, int64_t ch, int64_t pos,
                                         int64_t plane) {
  return mode == 0 ? 0.0f : mode == 1 ? p[ch] : p[ch * plane + pos];
}

// The cell of unit (ch, pos) of row n from the h-path sums (si, sf, sg, so): adds the x-path
// gates held in act, applies the peepholes and writes act, c, h and y (state carried when the
// row is past its length).
__device__ __forceinline__ void fused_cell(const FusedStep& s, int64_t ch, int64_t col, float si,
                                           float sf, float sg, float so) {
  const int64_t n = col / s.plane, pos = col - n * s.plane, U = s.hid * s.plane;
  const int64_t k = n * U + ch * s.plane + pos, e = n * 4 * U + ch * s.plane + pos;
  if (s.lengths && s.step >= s.lengths[n]) {
    s.act[e] = s.act[e + U] = s.act[e + 2 * U] = s.act[e + 3 * U] = 0.0f;
    s.c[k] = s.c_prev[k];
    s.h[k] = s.h_prev[k];
    if (s.y) s.y[k] = 0.0f;
    return;
  }
  const float cp = s.c_prev[k];
  const float i =
      kernels::sigmoid(s.act[e] + si + peep_at(s.ci, s.peephole, ch, pos, s.plane) * cp);
  const float f =
      kernels::sigmoid(s.act[e + U] + sf + peep_at(s.cf, s.peephole, ch, pos, s.plane) * cp);
  const float g = tanhf(s.act[e + 2 * U] + sg);
  const float cn = f * cp + i * g;
  const float o =
      kernels::sigmoid(s.act[e + 3 * U] + so + peep_at(s.co, s.peephole, ch, pos, s.plane) * cn);
  const float hn = o * tanhf(cn);
  s.act[e] = i;
  s.act[e + U] = f;
  s.act[e + 2 * U] = g;
  s.act[e + 3 * U] = o;
  s.c[k] = cn;
  s.h[k] = hn;
  if (s.y) s.y[k] = hn;
}

// The cells of the thread's column j (0..7): channels row0/4 + ty and row0/4 + 16 + ty, whose
// four gates are the thread's rows 0..3 and 4..7.
__device__ __forceinline__ void epilogue_column(const FusedStep& s, const float (&acc)[8][8], int j,
                                                int64_t row0, int64_t col0, int tx, int ty) {
  const int64_t col = col0 + register_tile::offset(tx, j);
  if (col >= s.cols) return;
  const int64_t ch_a = row0 / 4 + ty, ch_b = row0 / 4 + 16 + ty;
  if (ch_a < s.hid) fused_cell(s, ch_a, col, acc[0][j], acc[1][j], acc[2][j], acc[3][j]);
  if (ch_b < s.hid) fused_cell(s, ch_b, col, acc[4][j], acc[5][j], acc[6][j], acc[7][j]);
}

// One step: block (column tile, interleaved-row tile) of the h-path implicit GEMM (rows 4 hid,
// columns N H W, reduction hid k k), then the cell in the epilogue: thread (tx, ty) holds the four
// gates of channels row0/4 + ty and row0/4 + 16 + ty at its eight columns.
__global__ void __launch_bounds__(kThreads) convlstm_fused_step_kernel(FusedStep s) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  const int tid = int(threadIdx.x), tx = tid % 16, ty = tid / 16;
  const int64_t row0 = int64_t(blockIdx.y) * kRows, col0 = int64_t(blockIdx.x) * kCols;
  float acc[8][8];
  igemm::accumulate_tile(s, igemm::IgemmShape{4 * s.hid, s.cols, s.depth}, smem, 0, 0, s.depth,
                         acc);
  // Eight calls with constant columns, not a loop: a loop the compiler does not unroll would
  // index acc at run time and put it in local memory (a stack frame).
  epilogue_column(s, acc, 0, row0, col0, tx, ty);
  epilogue_column(s, acc, 1, row0, col0, tx, ty);
  epilogue_column(s, acc, 2, row0, col0, tx, ty);
  epilogue_column(s, acc, 3, row0, col0, tx, ty);
  epilogue_column(s, acc, 4, row0, col0, tx, ty);
  epilogue_column(s, acc, 5, row0, col0, tx, ty);
  epilogue_column(s, acc, 6, row0, col0, tx, ty);
  epilogue_column(s, acc, 7, row0, col0, tx, ty);
}

// What the cell gradient kernel of one step reads and writes.
struct CellBackward {
  int64_t batch, hid, plane, step;
  int peephole;
  const int64_t* lengths;
  const float *act, *c_prev, *c, *dy, *dh_conv, *ci, *cf, *co;
  float *dh, *dc, *dgates;
};

// Per unit: dgates of the step from dh (carried) + dh_conv (the h-path convolution's share from
// the step after) + dy, and dc; dc becomes c_prev's gradient and dh the carried part of h_prev's
// (0 on active rows; the h-path share comes from the backward-data convolution).
__global__ void convlstm_cell_backward_kernel(CellBackward s) {
  const int64_t U = s.hid * s.plane, n_units = s.batch * U;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n_units; k += stride) {
    const int64_t b = k / U, j = k - b * U, ch = j / s.plane, pos = j - ch * s.plane;
    const int64_t e = b * 4 * U + j;
    const float carried = s.dh[k] + (s.dh_conv ? s.dh_conv[k] : 0.0f);
    if (s.lengths && s.step >= s.lengths[b]) {
      s.dgates[e] = s.dgates[e + U] = s.dgates[e + 2 * U] = s.dgates[e + 3 * U] = 0.0f;
      s.dh[k] = carried;
      continue;
    }
    const float i = s.act[e], f = s.act[e + U], g = s.act[e + 2 * U], o = s.act[e + 3 * U];
    const float cp = s.c_prev[k], cn = s.c[k], tc = tanhf(cn);
    const float dh = carried + (s.dy ? s.dy[k] : 0.0f);
    const float dao = dh * tc * o * (1.0f - o);
    const float dct =
        s.dc[k] + dh * o * (1.0f - tc * tc) + dao * peep_at(s.co, s.peephole, ch, pos, s.plane);
    const float dai = dct * g * i * (1.0f - i), daf = dct * cp * f * (1.0f - f);
    s.dgates[e] = dai;
    s.dgates[e + U] = daf;
    s.dgates[e + 2 * U] = dct * i * (1.0f - g * g);
    s.dgates[e + 3 * U] = dao;
    s.dc[k] = dct * f + dai * peep_at(s.ci, s.peephole, ch, pos, s.plane) +
              daf * peep_at(s.cf, s.peephole, ch, pos, s.plane);
    s.dh[k] = 0.0f;
  }
}

// The product summed into peephole `gate` (0 ci, 1 cf, 2 co) at step t, row b, unit u: the gate's
// pre-activation gradient (blocks i, f, o) times c_prev (ci, cf) or the new c (co).
__device__ __forceinline__ float peephole_term(int64_t batch, int64_t units, int gate, int64_t t,
                                               int64_t b, int64_t u, const float* dgates,
                                               const float* cbuf) {
  const int q = gate == 2 ? 3 : gate;
  return dgates[(t * batch + b) * 4 * units + q * units + u] *
         cbuf[((t + (gate == 2 ? 1 : 0)) * batch + b) * units + u];
}

// Per-channel peephole gradients: block (gate, channel) sums its T N H W terms with a strided loop
// and a fixed tree (deterministic, no atomics); gate 0..2 writes dci, dcf, dco.
__global__ void __launch_bounds__(kThreads)
    convlstm_peephole_channel_grad_kernel(int64_t steps, int64_t batch, int64_t hid, int64_t plane,
                                          const float* dgates, const float* cbuf, float* dci,
                                          float* dcf, float* dco) {
  __shared__ float partial[kThreads];
  const int gate = int(blockIdx.x / hid);
  const int64_t ch = blockIdx.x % hid, U = hid * plane, total = steps * batch * plane;
  float acc = 0.0f;
  for (int64_t e = threadIdx.x; e < total; e += kThreads) {
    const int64_t tb = e / plane;
    acc +=
        peephole_term(batch, U, gate, tb / batch, tb % batch, ch * plane + e % plane, dgates, cbuf);
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) (gate == 0 ? dci : gate == 1 ? dcf : dco)[ch] = partial[0];
}

// Per-position peephole gradients: one thread per (gate, unit) sums its T N terms in order.
__global__ void convlstm_peephole_position_grad_kernel(int64_t steps, int64_t batch, int64_t units,
                                                       const float* dgates, const float* cbuf,
                                                       float* dci, float* dcf, float* dco) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t w = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; w < 3 * units; w += stride) {
    const int gate = int(w / units);
    const int64_t u = w % units;
    float acc = 0.0f;
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t b = 0; b < batch; ++b)
        acc += peephole_term(batch, units, gate, t, b, u, dgates, cbuf);
    (gate == 0 ? dci : gate == 1 ? dcf : dco)[u] = acc;
  }
}

// a[k] += b[k] for k < n.
__global__ void convlstm_add_kernel(int64_t n, float* a, const float* b) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) a[k] += b[k];
}

// The 'same' convolution of `images` maps of `channels` channels into 4 hid gate channels.
ConvDesc gate_conv(const ConvLstmDesc& d, int64_t images, int64_t channels) {
  ConvDesc c;
  c.n = images;
  c.c = channels;
  c.k = 4 * d.hidden;
  c.in[1] = c.out[1] = d.height;
  c.in[2] = c.out[2] = d.width;
  c.kernel[1] = c.kernel[2] = d.kernel;
  c.pad[1] = c.pad[2] = d.kernel / 2;
  return c;
}

// Bytes rounded up to 256 (the alignment of each workspace part).
size_t aligned(size_t bytes) {
  return (bytes + 255) / 256 * 256;
}

// The workspace's parts: interleaved W_h, dh_conv (N U), the backward-weights split partials.
struct Workspace {
  float *w_hi, *dh_conv, *splits;
};

// The parts of the workspace of d that starts at workspace.
Workspace parts(const ConvLstmDesc& d, void* workspace) {
  char* p = static_cast<char*>(workspace);
  const size_t w_bytes = aligned(size_t(4 * d.hidden * d.hidden * d.kernel * d.kernel) * 4);
  const size_t dh_bytes = aligned(size_t(d.batch * d.hidden * d.height * d.width) * 4);
  return {reinterpret_cast<float*>(p), reinterpret_cast<float*>(p + w_bytes),
          reinterpret_cast<float*>(p + w_bytes + dh_bytes)};
}

}  // namespace

size_t convlstm_seq_workspace_bytes(const ConvLstmDesc& d) {
  const int64_t images = d.steps * d.batch;
  const size_t split_bytes = std::max(conv_igemm_workspace_bytes(gate_conv(d, images, d.input)),
                                      conv_igemm_workspace_bytes(gate_conv(d, images, d.hidden)));
  return aligned(size_t(4 * d.hidden * d.hidden * d.kernel * d.kernel) * 4) +
         aligned(size_t(d.batch * d.hidden * d.height * d.width) * 4) + aligned(split_bytes);
}

cudaError_t convlstm_v3_fused_forward_f32(const ConvLstmDesc& d, const int64_t* lengths,
                                          const float* x, const float* w_x, const float* w_h,
                                          const float* bias, const ConvLstmPeepholes& peep,
                                          const float* h0, const float* c0,
                                          const ConvLstmBuffers& out, void* workspace) {
  const int64_t T = d.steps, N = d.batch, P = d.height * d.width, U = d.hidden * P;
  SIGNET_SEQ_TRY(seq_driver::init_state(out.hbuf, h0, N * U));
  SIGNET_SEQ_TRY(seq_driver::init_state(out.cbuf, c0, N * U));
  if (T == 0 || N * U == 0) return cudaSuccess;
  SIGNET_SEQ_TRY(conv_v2_igemm_forward_f32(gate_conv(d, T * N, d.input), x, w_x, bias, out.act));
  const Workspace ws = parts(d, workspace);
  const int64_t depth = d.hidden * d.kernel * d.kernel;
  launch_kernel(convlstm_interleave_kernel, seq_driver::blocks_for(4 * d.hidden * depth, kThreads),
                kThreads, 0, current_stream(), d.hidden, depth, w_h, ws.w_hi);
  SIGNET_SEQ_TRY(cudaGetLastError());
  FusedStep s{};
  s.conv = gate_conv(d, N, d.hidden);
  s.z = igemm::sizes_of(s.conv);
  s.hid = d.hidden;
  s.plane = P;
  s.cols = N * P;
  s.depth = depth;
  s.peephole = d.peephole;
  s.lengths = lengths;
  s.w_hi = ws.w_hi;
  s.ci = peep.ci;
  s.cf = peep.cf;
  s.co = peep.co;
  const dim3 grid(unsigned((s.cols + kCols - 1) / kCols),
                  unsigned((4 * d.hidden + kRows - 1) / kRows));
  for (int64_t t = 0; t < T; ++t) {
    s.step = t;
    s.h_prev = out.hbuf + t * N * U;
    s.c_prev = out.cbuf + t * N * U;
    s.act = out.act + t * N * 4 * U;
    s.c = out.cbuf + (t + 1) * N * U;
    s.h = out.hbuf + (t + 1) * N * U;
    s.y = out.y ? out.y + t * N * U : nullptr;
    launch_kernel(convlstm_fused_step_kernel, grid, dim3(kThreads),
                  size_t(register_tile::kSharedFloats) * sizeof(float), current_stream(), s);
    SIGNET_SEQ_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

cudaError_t convlstm_v3_fused_backward_f32(const ConvLstmDesc& d, const int64_t* lengths,
                                           const float* x, const float* w_x, const float* w_h,
                                           const ConvLstmPeepholes& peep,
                                           const ConvLstmBuffers& fwd, const float* dy,
                                           const ConvLstmGrads& g, void* workspace) {
  const int64_t T = d.steps, N = d.batch, P = d.height * d.width, U = d.hidden * P;
  if (N * U == 0) return cudaSuccess;
  const Workspace ws = parts(d, workspace);
  const ConvDesc h_conv = gate_conv(d, N, d.hidden);
  CellBackward s{};
  s.batch = N;
  s.hid = d.hidden;
  s.plane = P;
  s.peephole = d.peephole;
  s.lengths = lengths;
  s.ci = peep.ci;
  s.cf = peep.cf;
  s.co = peep.co;
  s.dh = g.dh;
  s.dc = g.dc;
  bool pending = false;  // ws.dh_conv holds the h-path share of the current dh
  for (int64_t t = T - 1; t >= 0; --t) {
    s.step = t;
    s.act = fwd.act + t * N * 4 * U;
    s.c_prev = fwd.cbuf + t * N * U;
    s.c = fwd.cbuf + (t + 1) * N * U;
    s.dy = dy ? dy + t * N * U : nullptr;
    s.dh_conv = pending ? ws.dh_conv : nullptr;
    s.dgates = g.dgates + t * N * 4 * U;
    launch_kernel(convlstm_cell_backward_kernel, seq_driver::blocks_for(N * U, kThreads), kThreads,
                  0, current_stream(), s);
    SIGNET_SEQ_TRY(cudaGetLastError());
    SIGNET_SEQ_TRY(conv_v2_igemm_backward_data_f32(h_conv, s.dgates, w_h, ws.dh_conv));
    pending = true;
  }
  if (pending) {
    launch_kernel(convlstm_add_kernel, seq_driver::blocks_for(N * U, kThreads), kThreads, 0,
                  current_stream(), N * U, g.dh, static_cast<const float*>(ws.dh_conv));
    SIGNET_SEQ_TRY(cudaGetLastError());
  }
  const ConvDesc x_all = gate_conv(d, T * N, d.input), h_all = gate_conv(d, T * N, d.hidden);
  if (g.x) SIGNET_SEQ_TRY(conv_v2_igemm_backward_data_f32(x_all, g.dgates, w_x, g.x));
  if (g.w_x || g.bias) {
    if (!g.w_x) return cudaErrorInvalidValue;
    SIGNET_SEQ_TRY(
        conv_v2_igemm_backward_weights_f32(x_all, x, g.dgates, g.w_x, g.bias, ws.splits));
  }
  if (g.w_h)
    SIGNET_SEQ_TRY(
        conv_v2_igemm_backward_weights_f32(h_all, fwd.hbuf, g.dgates, g.w_h, nullptr, ws.splits));
  if (d.peephole == 1 && g.ci && g.cf && g.co) {
    launch_kernel(convlstm_peephole_channel_grad_kernel, dim3(unsigned(3 * d.hidden)),
                  dim3(kThreads), 0, current_stream(), T, N, d.hidden, P,
                  static_cast<const float*>(g.dgates), static_cast<const float*>(fwd.cbuf), g.ci,
                  g.cf, g.co);
    SIGNET_SEQ_TRY(cudaGetLastError());
  }
  if (d.peephole == 2 && g.ci && g.cf && g.co) {
    launch_kernel(convlstm_peephole_position_grad_kernel, seq_driver::blocks_for(3 * U, kThreads),
                  kThreads, 0, current_stream(), T, N, U, static_cast<const float*>(g.dgates),
                  static_cast<const float*>(fwd.cbuf), g.ci, g.cf, g.co);
    SIGNET_SEQ_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

}  // namespace signet::cuda
