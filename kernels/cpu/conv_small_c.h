// CPU convolution v4_small_c (AVX-512, f32), forward only: first layers with few input channels
// (C <= 4: grey or RGB images and clips), stride 1, groups 1, 2-D and 3-D, any padding and
// dilation. v3 puts the output channels on the vector lanes and transposes every finished row
// back to NCHW, which costs as much as the arithmetic when C * taps is small (C = 3, 3x3x3: 81
// multiply-adds per output). Here the lanes are 16 consecutive output positions of one row, so
// the results are already NCHW rows: a register tile of up to 6 position vectors x 4 filters (24
// zmm accumulators, bias first) takes, per channel and tap, 6 input vectors and 4 broadcast
// weights (a row split evenly into tiles, or up to 6 narrow rows in one tile; the last vector of
// a row stored under a mask). Each thread copies the input rows of a block of output rows into a
// zero-padded slab of about 128 KiB and runs every filter over one tile before the next, so the
// tile's window and the packed weights stay in L1. Outputs above 64 MiB are written with
// streaming stores (case E, 205 MB of output: 6-9% faster).
// Measured (1 thread, CPU time, best of 5, 2 shared cores under load 9-20): E fwd 60-61 ms (v3
// 72-74, oneDNN from NCHW 77-81); A fwd 1.2-1.45 ms (v3 1.45-1.7; A is bound by writing its
// 12.8 MB output and moves with the other processes' memory traffic).
// Not kept: a backward-weights on the same layout (dy rows times shifted slab rows, 16 partial
// sums per filter and (channel, tap) pair) matched v3 on A and took 2.1x v3's time on E.
// Scratch (conv_v4_small_c_workspace_bytes): the packed weights ([K/4][C][taps][4]) plus one slab
// per thread; bounded by the slab size, not by N or the image size.
// Kernels never allocate and never throw; shapes are checked by the caller (conv_v4_small_c_fits).
#pragma once
#include <cstddef>

#include "kernels/common/conv_desc.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// Input channels at or below which v4 is meant to run (the selection rule's bound).
constexpr int64_t kSmallConvChannels = 4;

// True when v4 computes d's forward: stride 1 and groups 1 (any channel count; the rule picks it
// for C <= kSmallConvChannels). The CPU must run AVX-512 (the caller checks the path).
bool conv_v4_small_c_fits(const kernels::ConvDesc& d);

// Bytes of workspace the v4 forward needs for d on up to `threads` threads.
size_t conv_v4_small_c_workspace_bytes(const kernels::ConvDesc& d, int threads);

// y = conv(x, w) + bias (bias may be null); path must be avx512.
void conv_v4_small_c_forward(const kernels::ConvDesc& d, const float* x, const float* w,
                             const float* bias, float* y, void* workspace, int threads,
                             SimdPath path);

}  // namespace signet::cpu
