// CPU convolution, v3 direct (AVX-512, f32): stride 1, groups 1, 2-D and 3-D, any padding and
// dilation. The output channels are the vector lanes: weights are packed as
// [K/16][C][taps][16] (zero-padded to 16 filters) and a register tile of 14 output positions of
// one row x 32 output channels (28 zmm accumulators) takes, per input channel and tap, two
// weight vectors and 14 broadcast inputs: 28 FMAs with no im2col and no GEMM packing. Each
// thread copies the input rows that a block of output rows reads into a zero-padded slab of at
// most about 512 KiB (the rows split evenly over the slabs; so the inner loop has no bounds
// checks) and transposes each finished row back to NCHW.
// Backward-data is the forward of the flipped, transposed weights on dy with padding
// dilation * (kernel - 1) - padding, so it needs padding <= dilation * (kernel - 1).
// Backward-weights keeps the filters as lanes: dy is blocked to [K/16][position][16] one chunk of
// output rows at a time (about 256 KiB) and a tile of 14 (channel, tap) pairs x 32 filters
// accumulates over the chunk's positions (one dy vector pair and 14 broadcasts per position);
// the chunks are cut into fixed slots (up to 8 a thread), each with its own dw, summed in slot
// order at the end. The threads claim the forward's work items and backward-weights' slots as
// they go (a thread that runs late takes fewer), each result computed in a fixed order, so results
// do not depend on timing (backward-weights' do depend on the thread count).
// Scratch (conv_v3_direct_workspace_bytes): the packed weights plus one slab and one row of
// accumulators per thread; backward-weights: per thread the slab of one dy chunk (rows of one
// output depth) and the blocked chunk, and a dw per slot (at most about 4 MiB of them, or one a
// thread). Bounded by the slab and chunk sizes, the filter count and the row width, not by N or
// the image size. The packed weights may come from the caller (engine/ops/conv.cpp caches them
// by the weight's storage and version).
// Measured (1 thread, CPU time, 2 shared cores under load 6-9, bench/bench_conv.cpp): 28-146
// GFLOP/s over the cases A-E in all passes, 1.3-6x v2; 97-146 on B-D, 60-87% of the
// 167 GFLOP/s one-core FMA peak of bench/RESULTS.md. B-D forward and backward-data after the
// do-while tiles and the one-load-one-store slab rows (1 thread, thread CPU time, best of 9-32
// calls, load 2-4): 146-157 GFLOP/s, 84-90% of the 174.7 GFLOP/s one-core peak.
// After the prefetch feeds (the tiles prefetch, between their FMAs, the next work item's output
// lines and next slab's input: conv_slab.h LineFeed), 16 x 16 transposes with half their
// shuffles done by the loads, weights packed by transposes (C: 1 ms -> 0.07 ms a call) and
// backward-weights without a division per position or per dw entry (1 thread, best-of CPU
// time, A/B against the previous build in the same minutes, load 1.7, two runs): B fwd +7-8%,
// D fwd +0-4%, B bwd_weights +7-23%, B bwd_data +1-6%, A bwd_weights +24-31%, E bwd_weights
// +6-9%, C's three passes +1-3% (one run +13%), D bwd_data and bwd_weights -2% to +6%.
// Claimed work at 2 threads (A/B against the static split, alternated, SCHED_FIFO, load 2-5 from
// the other users of the host): B fwd 3.69-3.90 ms against 4.59-4.84 (oneDNN-from-NCHW 4.0-5.6
// in the same runs), D fwd 33.3-39.1 against 40.0-40.8 (oneDNN 34-38); the threads' finishing
// times 0.6-1.3 ms apart (B) before, 0.03-0.5 ms after. On a quiet host (t2 1.97x t1 for B) there
// was little to win: 2% between the threads' busy time and the call.
// Kernels never allocate and never throw; shapes are checked by the caller (conv_v3_direct_fits).
#pragma once
#include <cstddef>

#include "kernels/common/conv_desc.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// True when v3 computes d: stride 1, groups 1, and for backward-data (data = true) padding at
// most dilation * (kernel - 1) in every dim. The CPU must run AVX-512 (the caller checks the path).
bool conv_v3_direct_fits(const kernels::ConvDesc& d, bool data);

// Bytes of workspace the v3 forward (data = false) or backward-data (data = true) needs for d on
// up to `threads` threads; without the packed weights when the caller gives them (packed).
size_t conv_v3_direct_workspace_bytes(const kernels::ConvDesc& d, bool data, int threads,
                                      bool packed = false);

// Bytes of the packed weights of d's forward (data = false) or backward-data (data = true).
size_t conv_v3_direct_packed_bytes(const kernels::ConvDesc& d, bool data);

// Packs w ([K][C][taps]) for d's forward or backward-data into wp (64-byte aligned,
// conv_v3_direct_packed_bytes), so that callers can keep it while w does not change.
void conv_v3_direct_pack_weights(const kernels::ConvDesc& d, bool data, const float* w, float* wp,
                                 int threads);

// y = conv(x, w) + bias (bias may be null); path must be avx512. With `packed` (the output of
// conv_v3_direct_pack_weights for w) w is not read and not repacked.
void conv_v3_direct_forward(const kernels::ConvDesc& d, const float* x, const float* w,
                            const float* bias, float* y, void* workspace, int threads,
                            SimdPath path, const float* packed = nullptr);

// dx = the convolution of dy with the flipped, transposed weights (dx is overwritten); `packed`
// as for the forward (packed with data = true).
void conv_v3_direct_backward_data(const kernels::ConvDesc& d, const float* dy, const float* w,
                                  float* dx, void* workspace, int threads, SimdPath path,
                                  const float* packed = nullptr);

// Bytes of workspace the v3 backward-weights needs for d on up to `threads` threads.
size_t conv_v3_direct_weights_workspace_bytes(const kernels::ConvDesc& d, int threads);

// dw (and dbias when not null) = the gradients of sum(y * dy), both overwritten.
void conv_v3_direct_backward_weights(const kernels::ConvDesc& d, const float* x, const float* dy,
                                     float* dw, float* dbias, void* workspace, int threads,
                                     SimdPath path);

}  // namespace signet::cpu
