// CPU convolution, v2: im2col (vol2col in 3-D) + the packed SGEMM (cpu::sgemm_v3_packed), f32.
//   v1 naive      ref::conv_* (kernels/reference/conv.h): loops over outputs and taps.
//   v2 im2col     per (image, group) the output is W_g (K/g x C/g*taps) times the unfolded input
//                 (C/g*taps x output positions). The unfolded input is built one column tile at a
//                 time (a slice of output positions) in the caller's workspace and multiplied at
//                 once, so scratch is one tile per thread, never a full im2col of the input.
//                 1x1, stride 1, padding 0 skips the unfolding: the input already is the matrix.
//                 Threads: forward splits (image, group, tile) items; backward-data whole (image,
//                 group) items (one at a time on all threads when there are fewer); backward-
//                 weights splits dw's columns, so each thread unfolds only its rows. Measured
//                 (2 shared cores, loaded, not a benchmark): 5-118 GFLOP/s over the cases
//                 A-E on 1-2 threads, best on C (K=256, C=128); v3_direct (conv_direct.h)
//                 replaced it for stride 1 without groups.
// Scratch bound (conv_workspace_bytes): per thread one column tile of at most
// max(kColTileBytes = 256 KiB, C/g*taps * 64 * 4) bytes plus the SGEMM's packed panels for that
// tile (0.13-1.6 MiB in all for cases A-E on 2 threads); bounded by the tile, not by N or the
// image size.
// Kernels never allocate and never throw; shapes are checked by the caller.
#pragma once
#include <cstddef>

#include "kernels/common/conv_desc.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// True for 1x1 kernels with stride 1 and padding 0 (the input is the GEMM operand as stored).
bool conv_is_pointwise(const kernels::ConvDesc& d);

// Bytes of workspace every v2 pass needs for d on up to `threads` threads.
size_t conv_workspace_bytes(const kernels::ConvDesc& d, int threads);

// y = conv(x, w) + bias (bias may be null) on `path`, tiles split statically over threads.
void conv_v2_im2col_forward(const kernels::ConvDesc& d, const float* x, const float* w,
                            const float* bias, float* y, void* workspace, int threads,
                            SimdPath path);

// dx = W^T dy folded back (col2im) into the input layout (dx is overwritten).
void conv_v2_im2col_backward_data(const kernels::ConvDesc& d, const float* dy, const float* w,
                                  float* dx, void* workspace, int threads, SimdPath path);

// dw = sum over images and tiles of dy times the unfolded input transposed; dbias = sum of dy
// (when not null). Both overwritten.
void conv_v2_im2col_backward_weights(const kernels::ConvDesc& d, const float* x, const float* dy,
                                     float* dw, float* dbias, void* workspace, int threads,
                                     SimdPath path);

}  // namespace signet::cpu
