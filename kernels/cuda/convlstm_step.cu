// The ConvLSTM step kernels after the convolutions: v1 as four unfused passes, v2 as one fused
// pass. Grid-stride loops; a unit k = (row b, unit j) with j = channel * plane + position.
#include "kernels/cuda/convlstm_step.h"

#include "kernels/common/lstm_cell.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;

// v1 pass 1: act[e] = gates_x[e] + gates_h[e] + bias[gate channel of e] over all N 4U gates.
__global__ void convlstm_sum_kernel(ConvLstmStepDesc d, const float* gates_x, const float* gates_h,
                                    const float* bias, float* act) {
  const int64_t n = d.batch * 4 * d.hidden * d.plane, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride)
    act[e] = gates_x[e] + gates_h[e] + bias[(e / d.plane) % (4 * d.hidden)];
}

// v1 pass 2: sigmoid on the i, f, o blocks and tanh on the g block of act, in place.
__global__ void convlstm_activate_kernel(ConvLstmStepDesc d, float* act) {
  const int64_t U = d.hidden * d.plane, n = d.batch * 4 * U;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride)
    act[e] = (e / U) % 4 == 2 ? tanhf(act[e]) : kernels::sigmoid(act[e]);
}

// v1 pass 3: c = f c_prev + i g for every unit.
__global__ void convlstm_cell_kernel(ConvLstmStepDesc d, const float* act, const float* c_prev,
                                     float* c) {
  const int64_t U = d.hidden * d.plane, n = d.batch * U;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) {
    const float* a = act + (k / U) * 4 * U + k % U;
    c[k] = a[U] * c_prev[k] + a[0] * a[2 * U];
  }
}

// v1 pass 4: h = o tanh(c) for every unit.
__global__ void convlstm_hidden_kernel(ConvLstmStepDesc d, const float* act, const float* c,
                                       float* h) {
  const int64_t U = d.hidden * d.plane, n = d.batch * U;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride)
    h[k] = act[(k / U) * 4 * U + 3 * U + k % U] * tanhf(c[k]);
}

// v2: per unit, the four gate sums with bias, the activations and the new state in one pass.
__global__ void convlstm_fused_cell_kernel(ConvLstmStepDesc d, const float* gates_x,
                                           const float* gates_h, const float* bias,
                                           const float* c_prev, float* act, float* c, float* h) {
  const int64_t U = d.hidden * d.plane, n = d.batch * U;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) {
    const int64_t b = k / U, j = k - b * U, ch = j / d.plane, e = b * 4 * U + j;
    const float* bx = gates_x + e;
    const float* bh = gates_h + e;
    const float* bb = bias + ch;
    float i, f, g, o, ck, hk;
    kernels::lstm_gates(bx[0] + bh[0] + bb[0], bx[U] + bh[U] + bb[d.hidden],
                        bx[2 * U] + bh[2 * U] + bb[2 * d.hidden],
                        bx[3 * U] + bh[3 * U] + bb[3 * d.hidden], i, f, g, o);
    kernels::lstm_state(i, f, g, o, c_prev[k], ck, hk);
    act[e] = i;
    act[e + U] = f;
    act[e + 2 * U] = g;
    act[e + 3 * U] = o;
    c[k] = ck;
    h[k] = hk;
  }
}

// Blocks for n elements: one thread each up to kMaxBlocks blocks, the grid-stride loop beyond.
int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return int(wanted < kMaxBlocks ? wanted : kMaxBlocks);
}

}  // namespace

cudaError_t convlstm_v1_unfused_step_f32(const ConvLstmStepDesc& d, const float* gates_x,
                                         const float* gates_h, const float* bias,
                                         const float* c_prev, float* act, float* c, float* h) {
  const int64_t units = d.batch * d.hidden * d.plane;
  if (units == 0) return cudaSuccess;
  launch_kernel(convlstm_sum_kernel, blocks_for(4 * units), kThreads, 0, current_stream(), d,
                gates_x, gates_h, bias, act);
  launch_kernel(convlstm_activate_kernel, blocks_for(4 * units), kThreads, 0, current_stream(), d,
                act);
  launch_kernel(convlstm_cell_kernel, blocks_for(units), kThreads, 0, current_stream(), d,
                static_cast<const float*>(act), c_prev, c);
  launch_kernel(convlstm_hidden_kernel, blocks_for(units), kThreads, 0, current_stream(), d,
                static_cast<const float*>(act), static_cast<const float*>(c), h);
  return cudaGetLastError();
}

cudaError_t convlstm_v2_fused_cell_step_f32(const ConvLstmStepDesc& d, const float* gates_x,
                                            const float* gates_h, const float* bias,
                                            const float* c_prev, float* act, float* c, float* h) {
  const int64_t units = d.batch * d.hidden * d.plane;
  if (units == 0) return cudaSuccess;
  launch_kernel(convlstm_fused_cell_kernel, blocks_for(units), kThreads, 0, current_stream(), d,
                gates_x, gates_h, bias, c_prev, act, c, h);
  return cudaGetLastError();
}

}  // namespace signet::cuda
