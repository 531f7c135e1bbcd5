// Fused LSTM steps (float): all T recurrent steps of one layer in one OpenMP region, forward or
// backward, the work of a step split in blocks of MR hidden units with all four of their gates,
// and one barrier per step.
//   forward   per block: the recurrent product for its gate columns (W_hh slivers x h_{t-1}^T,
//             the transposed product of gemm_prepacked.h: MR gate rows by the batch) added into
//             the gates (which hold the input projection); the fused cell on its units with the
//             bias (lstm_cell_forward_units); its units of h_t packed into the shared operand of
//             the next step's product. Barrier.
//   backward  per block: step t+1's product dG_{t+1} W_hh[:, units] into dh (W_hh^T slivers x
//             dG^T), then step t's fused cell gradient on its units (lstm_cell_backward_units),
//             the bias gradient's column sums and its gate columns of dG_t packed. Barrier.
// Work split: thread r owns the blocks [B r / nt, B (r + 1) / nt) of every step and takes them
// from the front; a thread that runs out takes the others' from the back (one compare-and-swap
// per block), so that on a shared host a thread held up for a while does not hold up the step;
// in a quiet run each thread does exactly its static share, and neighbours write 64-byte lines in
// common only at the ends of the shares (taking single blocks in turn, 12 units apart, made both
// threads write every line of the gates, h and c: slower than the per-step path).
// The per-step path (lstm.cpp "lstm_step_gemm" + "lstm_cell") runs two OpenMP regions per step
// and packs the product's small operand on every thread; at t2 with OMP_WAIT_POLICY=passive each
// region's wake-up cost more than the cell itself (S, 120 steps: cells 0.14 ms a step at t2
// against 0.05 ms at t1, loaded host).
// The packed h / dG operands alternate between two buffers, so one barrier per step suffices: a
// thread can be at most one step ahead of another. W_hh is packed once per sequence call:
// forward as 4 MR-row slivers (gates i, f, g, o) per block of MR units, each over all H steps of k
// (lstm_steps_pack_w); backward as gemm_prepacked.h's sgemm_pack_bt of dG W_hh (MR-unit slivers
// over all 4H steps of k). Every step reads all of packed W_hh once (16 MiB for H = 1024, more than
// the L2s hold), so its slivers go through the micro-kernel that prefetches A (kernel_stream_a).
// Every block is computed the same way on any thread: the results do not depend on the thread count
// or on who took which block. Kernels never allocate and never throw; the caller checks shapes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// One layer's steps: T steps of a batch of N with H units; reverse runs t = T-1 .. 0.
struct LstmStepsDesc {
  int64_t steps = 0, batch = 0, hidden = 0;
  bool reverse = false;
};

// The team size for d on up to `threads`: 1 when one step's product is too small to share.
int lstm_steps_threads(const LstmStepsDesc& d, int threads);

// Floats of W_hh (4H x H) packed by lstm_steps_pack_w on `path`.
size_t lstm_steps_packed_w_floats(int64_t hidden, SimdPath path);

// Packs W_hh (4H x H, row-major) for lstm_steps_forward: for unit block q (units [q MR, q MR +
// MR)) and gate k, the MR rows k H + q MR + r (zero past H) over all H columns, k-major, at
// offset (4 q + k) MR H; on up to `threads` threads.
void lstm_steps_pack_w(int64_t hidden, const float* w_hh, float* packed, int threads,
                       SimdPath path);

// Floats of W_hh packed by lstm_steps_pack_w_backward on `path`.
size_t lstm_steps_packed_w_backward_floats(int64_t hidden, SimdPath path);

// Packs W_hh for lstm_steps_backward (sgemm_pack_bt of the product dG (N x 4H) W_hh (4H x H)).
void lstm_steps_pack_w_backward(int64_t hidden, const float* w_hh, float* packed, int threads,
                                SimdPath path);

// Bytes of scratch lstm_steps_forward and lstm_steps_backward need for d on `threads` threads (the
// count they are then called with): two packed copies of the step's small operand (N rounded up
// to NR by 4H floats at most) and the threads' work ranges of every step.
size_t lstm_steps_workspace_bytes(const LstmStepsDesc& d, int threads, SimdPath path);

// The forward steps of one layer, as lstm.cpp's per-step path: act (T, N, 4H) holds the input
// projection and receives the activated gates; bias (4H, b_ih + b_hh, or null) is added to every
// row's pre-activations in the cell; hbuf and cbuf (T + 1, N, H) hold h0 and c0 in slot 0 (slot T
// when reverse) and receive h_t, c_t; y (T, N, H) is null without lengths. h0_zero: h0 is all
// zeros, so the first step's product is skipped.
void lstm_steps_forward(const LstmStepsDesc& d, const int64_t* lengths, const float* packed_w,
                        const float* bias, bool h0_zero, float* act, float* hbuf, float* cbuf,
                        float* y, void* workspace, int threads, SimdPath path);

// The backward steps of one layer: from dh, dc (N, H; the gradients of h_n, c_n) and dy
// (T, N, H, or null), through the saved act, cbuf of the forward, writes dgates (T, N, 4H) and
// leaves the gradients of h0 and c0 in dh and dc. The product of the first step's dG (into h0's
// gradient) runs only when `last_product`. dbias_steps (T, 4H, or null) receives each step's
// column sums of dgates over the batch (rows b = 0 .. N-1 in order), summed there while dG is in
// cache: the bias gradient is their sum over t.
void lstm_steps_backward(const LstmStepsDesc& d, const int64_t* lengths,
                         const float* packed_w_backward, const float* act, const float* cbuf,
                         const float* dy, bool last_product, float* dh, float* dc, float* dgates,
                         float* dbias_steps, void* workspace, int threads, SimdPath path);

// The bias gradient from lstm_steps_backward's per-step column sums: out[j] (j < 4H) = the sum
// over t = 0 .. steps - 1, in that order, of dbias_steps[t 4H + j].
void lstm_steps_bias_sum(const float* dbias_steps, int64_t steps, int64_t hidden, float* out);

}  // namespace signet::cpu
