// The f32 CPU convolution versions, each under its registry name, and the selection rule by shape
// that the conv ops (engine/ops/conv.cpp) and bench/bench_conv.cpp share (conv_select):
//   v4_small_c   forward only, stride 1, groups 1, AVX-512 (conv_small_c.h): output positions as
//                the lanes, no transposes. Chosen for the forward of first layers (C <= 4).
//   v3_direct    stride 1, groups 1, AVX-512 (conv_direct.h); backward-data also needs padding
//                <= dilation * (kernel - 1). Chosen wherever it fits with at least 16
//                output channels for the pass, except 1x1. Measured on
//                cases A-E, 1 thread, CPU time, loaded host: 28-146 GFLOP/s, 1.3-6x v2 and
//                0.75-2.3x oneDNN from NCHW.
//   v2_im2col    any shape with at least 4 filters per group (conv_im2col.h); chosen for 1x1
//                (straight to the packed GEMM), strides > 1 and groups.
//   v1_reference everything else (depthwise and near-depthwise), f32 and f64.
// Kernels never allocate and never throw; shapes are checked by the caller.
#pragma once
#include <cstddef>

#include "kernels/common/conv_desc.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// The three passes of a convolution.
enum class ConvPass { forward, backward_data, backward_weights };

// The f32 CPU versions, slowest first.
enum class ConvVersion { v1_reference, v2_im2col, v3_direct, v4_small_c };

// The version's registry name ("v2_im2col").
const char* conv_version_name(ConvVersion v);

// True when version v computes pass of d (v1 computes every shape).
bool conv_version_fits(ConvVersion v, const kernels::ConvDesc& d, ConvPass pass);

// The version the rule picks for pass of d: the fastest one that fits.
ConvVersion conv_select(const kernels::ConvDesc& d, ConvPass pass);

// Bytes of workspace version v needs for pass of d on up to `threads` threads.
size_t conv_version_workspace_bytes(ConvVersion v, const kernels::ConvDesc& d, ConvPass pass,
                                    int threads);

// Forward of version v (which must fit d): y = conv(x, w) + bias (bias may be null).
void conv_run_forward(ConvVersion v, const kernels::ConvDesc& d, const float* x, const float* w,
                      const float* bias, float* y, void* workspace, int threads, SimdPath path);

// Backward-data of version v (which must fit d): dx overwritten.
void conv_run_backward_data(ConvVersion v, const kernels::ConvDesc& d, const float* dy,
                            const float* w, float* dx, void* workspace, int threads, SimdPath path);

// Backward-weights of version v (which must fit d): dw and dbias (may be null) overwritten.
void conv_run_backward_weights(ConvVersion v, const kernels::ConvDesc& d, const float* x,
                               const float* dy, float* dw, float* dbias, void* workspace,
                               int threads, SimdPath path);

}  // namespace signet::cpu
