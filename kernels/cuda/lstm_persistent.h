// The persistent LSTM forward (v2 of the device LSTM forward, beside lstm_seq.h's per-step driver)
// for small batches: after the input projection (one GEMM over the sequence, lstm_seq_input_f32),
// ONE cooperative launch runs every step. Block k owns hidden units [k U, k U + U), loads their
// four gate rows of W_hh into shared memory once, and per step stages h_{t-1} (N, H) in shared
// memory chunk by chunk, computes its units' recurrent products, applies the cell
// (kernels/common/lstm_cell.h, the math and summation order of lstm_seq's GEMM + cell, so both give
// the same floats) and writes act, c_t, h_t and y; a grid barrier
// (cooperative_groups::this_grid().sync()) separates the steps. The buffers are lstm_seq's
// (LstmSeqForward), so lstm_seq_backward_f32 back-propagates through them unchanged. Pointers are
// device pointers; work goes to the current stream.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"
#include "kernels/cuda/lstm_seq.h"

namespace signet::cuda {

// The largest batch the kernel takes (one warp's lanes span the batch of one unit).
constexpr int64_t kLstmPersistentMaxBatch = 32;

// A launch shape: `units` hidden units per block, `blocks` blocks of `threads` threads, each with
// shared_bytes of dynamic shared memory: its units' 4 rows of W_hh, a chunk of up to 128 columns
// of h_{t-1} (rows padded to odd length) and the units' recurrent sums carried across chunks.
struct LstmPersistentPlan {
  int64_t units = 0;
  int blocks = 0, threads = 0;
  size_t shared_bytes = 0;
};

// The plan for a batch of `batch` and `hidden` units on the current device: `units` per block
// (0: the fewest that need no more blocks than the device has SMs, one block resident per SM).
// cudaErrorInvalidValue for a batch above kLstmPersistentMaxBatch or a negative size,
// cudaErrorInvalidConfiguration when the block's shared memory exceeds the device's per-block
// limit (sharedMemPerBlockOptin); the caller then runs lstm_seq instead.
cudaError_t lstm_persistent_plan(int64_t batch, int64_t hidden, int64_t units,
                                 LstmPersistentPlan* plan);

// Whether the automatic plan exists for (batch, hidden) on the current device (the engine's
// selection rule).
bool lstm_persistent_fits(int64_t batch, int64_t hidden);

// The steps of the forward over buffers lstm_seq_input_f32 prepared: act holds the input
// projection plus bias, hbuf and cbuf the initial state in their first slot (T when reverse).
// Writes lstm_seq_forward_f32's results. units as in lstm_persistent_plan; a plan error or a grid
// that cannot be co-resident (cudaErrorCooperativeLaunchTooLarge) is returned before any step runs.
cudaError_t lstm_persistent_steps_f32(const LstmSeqDesc& d, const int64_t* lengths,
                                      const float* w_hh, const LstmSeqForward& out,
                                      int64_t units = 0);

// The whole forward with lstm_seq_forward_f32's arguments and results (the input part, then the
// persistent steps).
cudaError_t lstm_persistent_forward_f32(const LstmSeqDesc& d, const int64_t* lengths,
                                        const float* x, const float* w_ih, const float* w_hh,
                                        const float* bias, const float* h0, const float* c0,
                                        const LstmSeqForward& out, int64_t units = 0);

}  // namespace signet::cuda
