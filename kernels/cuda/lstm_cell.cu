// The fused LSTM cell kernels: a grid-stride loop over the N H units, each thread reading its
// unit's four gates (k H + j) and writing the same four slots, so act may alias gates.
#include "kernels/cuda/lstm_cell.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::LstmCellDesc;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;

// Forward of one step for every (row, unit); inactive rows carry their state.
__global__ void lstm_cell_forward_kernel(LstmCellDesc d, const int64_t* lengths, const float* gates,
                                         const float* c_prev, const float* h_prev, float* act,
                                         float* c, float* h, float* y) {
  const int64_t H = d.hidden, n = d.batch * H;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) {
    const int64_t b = k / H, j = k - b * H;
    const float* a = gates + b * 4 * H + j;
    float* s = act + b * 4 * H + j;
    if (!kernels::lstm_row_active(d, lengths, b)) {
      s[0] = s[H] = s[2 * H] = s[3 * H] = 0.0f;
      c[k] = c_prev[k];
      h[k] = h_prev[k];
      if (y) y[k] = 0.0f;
      continue;
    }
    float i, f, g, o;
    kernels::lstm_gates(a[0], a[H], a[2 * H], a[3 * H], i, f, g, o);
    s[0] = i;
    s[H] = f;
    s[2 * H] = g;
    s[3 * H] = o;
    float ck, hk;
    kernels::lstm_state(i, f, g, o, c_prev[k], ck, hk);
    c[k] = ck;
    h[k] = hk;
    if (y) y[k] = hk;
  }
}

// Backward of one step for every (row, unit); inactive rows pass dh and dc through.
__global__ void lstm_cell_backward_kernel(LstmCellDesc d, const int64_t* lengths, const float* act,
                                          const float* c_prev, const float* c, const float* dy,
                                          float* dh, float* dc, float* dgates) {
  const int64_t H = d.hidden, n = d.batch * H;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) {
    const int64_t b = k / H, j = k - b * H;
    float* dg = dgates + b * 4 * H + j;
    if (!kernels::lstm_row_active(d, lengths, b)) {
      dg[0] = dg[H] = dg[2 * H] = dg[3 * H] = 0.0f;
      continue;
    }
    const float* s = act + b * 4 * H + j;
    const float dh_total = dh[k] + (dy ? dy[k] : 0.0f);
    float dai, daf, dag, dao, dcp;
    kernels::lstm_unit_backward(s[0], s[H], s[2 * H], s[3 * H], c_prev[k], c[k], dh_total, dc[k],
                                dai, daf, dag, dao, dcp);
    dg[0] = dai;
    dg[H] = daf;
    dg[2 * H] = dag;
    dg[3 * H] = dao;
    dc[k] = dcp;
    dh[k] = 0.0f;
  }
}

// Blocks for n units: one thread each up to kMaxBlocks blocks, the grid-stride loop beyond.
int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return int(wanted < kMaxBlocks ? wanted : kMaxBlocks);
}

}  // namespace

cudaError_t lstm_cell_forward_f32(const LstmCellDesc& d, const int64_t* lengths, const float* gates,
                                  const float* c_prev, const float* h_prev, float* act, float* c,
                                  float* h, float* y) {
  const int64_t n = d.batch * d.hidden;
  if (n == 0) return cudaSuccess;
  launch_kernel(lstm_cell_forward_kernel, blocks_for(n), kThreads, 0, current_stream(), d, lengths,
                gates, c_prev, h_prev, act, c, h, y);
  return cudaGetLastError();
}

cudaError_t lstm_cell_backward_f32(const LstmCellDesc& d, const int64_t* lengths, const float* act,
                                   const float* c_prev, const float* c, const float* dy, float* dh,
                                   float* dc, float* dgates) {
  const int64_t n = d.batch * d.hidden;
  if (n == 0) return cudaSuccess;
  launch_kernel(lstm_cell_backward_kernel, blocks_for(n), kThreads, 0, current_stream(), d, lengths,
                act, c_prev, c, dy, dh, dc, dgates);
  return cudaGetLastError();
}

}  // namespace signet::cuda
