// The LSTM sequence driver: host loops issuing GEMMs (gemm_tiled.h v3) and the fused cell
// kernels (lstm_cell.h), plus two small kernels for the bias (broadcast forward, column sums
// backward).
#include "kernels/cuda/lstm_seq.h"

#include "kernels/common/gemm_desc.h"
#include "kernels/common/lstm_cell.h"
#include "kernels/cuda/gemm_tiled.h"
#include "kernels/cuda/lstm_cell.h"
#include "kernels/cuda/seq_driver.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

constexpr int kThreads = 256;

// out[r, j] = bias[j] for r < rows, j < cols (the bias row under every (t, n) of act).
__global__ void lstm_bias_rows_kernel(int64_t rows, int64_t cols, const float* bias, float* out) {
  const int64_t n = rows * cols, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride)
    out[k] = bias[k % cols];
}

// sums[j] = sum over r < rows of in[r, j], rows in order (deterministic); one thread a column.
__global__ void lstm_column_sum_kernel(int64_t rows, int64_t cols, const float* in, float* sums) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < cols; j += stride) {
    float s = 0.0f;
    for (int64_t r = 0; r < rows; ++r) s += in[r * cols + j];
    sums[j] = s;
  }
}

// C (m, n) = op(A) op(B) + beta C for gapless row-major operands (lstm.cpp's gemm()).
cudaError_t gemm(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, float beta,
                 const float* a, const float* b, float* c) {
  return gemm_v3_register_f32(kernels::row_major_gemm(m, n, k, trans_a, trans_b, beta), a, b, c);
}

}  // namespace

cudaError_t lstm_seq_input_f32(const LstmSeqDesc& d, const float* x, const float* w_ih,
                               const float* bias, const float* h0, const float* c0,
                               const LstmSeqForward& out) {
  const int64_t T = d.steps, N = d.batch, H = d.hidden, G = 4 * H;
  if (N == 0 || H == 0) return cudaSuccess;
  const int64_t first = d.reverse ? T : 0;
  SIGNET_SEQ_TRY(seq_driver::init_state(out.hbuf + first * N * H, h0, N * H));
  SIGNET_SEQ_TRY(seq_driver::init_state(out.cbuf + first * N * H, c0, N * H));
  if (T == 0) return cudaSuccess;
  if (bias) {
    launch_kernel(lstm_bias_rows_kernel, seq_driver::blocks_for(T * N * G, kThreads), kThreads, 0,
                  current_stream(), T * N, G, bias, out.act);
    SIGNET_SEQ_TRY(cudaGetLastError());
  }
  return gemm(T * N, G, d.input, false, true, bias ? 1.0f : 0.0f, x, w_ih, out.act);
}

cudaError_t lstm_seq_forward_f32(const LstmSeqDesc& d, const int64_t* lengths, const float* x,
                                 const float* w_ih, const float* w_hh, const float* bias,
                                 const float* h0, const float* c0, const LstmSeqForward& out) {
  const int64_t T = d.steps, N = d.batch, H = d.hidden, G = 4 * H;
  SIGNET_SEQ_TRY(lstm_seq_input_f32(d, x, w_ih, bias, h0, c0, out));
  if (N == 0 || H == 0) return cudaSuccess;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = d.reverse ? T - 1 - s : s;
    const int64_t prev = d.reverse ? t + 1 : t, next = d.reverse ? t : t + 1;
    float* gates = out.act + t * N * G;
    SIGNET_SEQ_TRY(gemm(N, G, H, false, true, 1.0f, out.hbuf + prev * N * H, w_hh, gates));
    SIGNET_SEQ_TRY(lstm_cell_forward_f32(
        {N, H, t}, lengths, gates, out.cbuf + prev * N * H, out.hbuf + prev * N * H, gates,
        out.cbuf + next * N * H, out.hbuf + next * N * H, out.y ? out.y + t * N * H : nullptr));
  }
  return cudaSuccess;
}

cudaError_t lstm_seq_backward_f32(const LstmSeqDesc& d, const int64_t* lengths, const float* x,
                                  const float* w_ih, const float* w_hh, const LstmSeqForward& fwd,
                                  const float* dy, const LstmSeqGrads& g) {
  const int64_t T = d.steps, N = d.batch, I = d.input, H = d.hidden, G = 4 * H;
  for (int64_t s = T - 1; s >= 0 && N > 0 && H > 0; --s) {
    const int64_t t = d.reverse ? T - 1 - s : s;
    const int64_t prev = d.reverse ? t + 1 : t, next = d.reverse ? t : t + 1;
    SIGNET_SEQ_TRY(lstm_cell_backward_f32(
        {N, H, t}, lengths, fwd.act + t * N * G, fwd.cbuf + prev * N * H, fwd.cbuf + next * N * H,
        dy ? dy + t * N * H : nullptr, g.dh, g.dc, g.dgates + t * N * G));
    if (s > 0 || g.need_h0)
      SIGNET_SEQ_TRY(gemm(N, H, G, false, false, 1.0f, g.dgates + t * N * G, w_hh, g.dh));
  }
  // With no step (T, N or H zero) the weight gradients are zero; the GEMMs write them so.
  if (g.x) SIGNET_SEQ_TRY(gemm(T * N, I, G, false, false, 0.0f, g.dgates, w_ih, g.x));
  if (g.w_ih) SIGNET_SEQ_TRY(gemm(G, I, T * N, true, false, 0.0f, g.dgates, x, g.w_ih));
  if (g.w_hh)
    SIGNET_SEQ_TRY(
        gemm(G, H, T * N, true, false, 0.0f, g.dgates, fwd.hbuf + (d.reverse ? N * H : 0), g.w_hh));
  if (g.bias && G > 0) {
    launch_kernel(lstm_column_sum_kernel, seq_driver::blocks_for(G, kThreads), kThreads, 0,
                  current_stream(), T * N, G, g.dgates, g.bias);
    SIGNET_SEQ_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

}  // namespace signet::cuda
