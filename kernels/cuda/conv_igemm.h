// Convolution as implicit GEMM (no im2col buffer): forward, backward-data and backward-weights,
// the operands gathered on the fly (conv_igemm_ops.h), on a ladder of versions after
// conv_naive.h's v1: v2 on the SIMT register tile of GEMM v3 (gemm_register_tile.h), v3 on tf32
// and v4 on bf16 tensor cores (the GEMM's mma tile, gemm_mma_tile.h; inputs rounded as the
// hardware does, fp32 accumulation). ConvDesc as in kernels/reference/conv.h (2-D and 3-D,
// groups, stride, padding, dilation). Per group:
//   forward:          Y  (K/g x N*outvol)   = W  (K/g x C/g*taps)  x patches(x)
//   backward-data:    dX (C/g x N*invol)    = W' (C/g x K/g*taps)  x taps-of(dy) (stride-aware)
//   backward-weights: dW (K/g x C/g*taps)   = dY (K/g x N*outvol)  x patches(x)'
// Backward-weights splits its long reduction over blocks into a workspace, reduced in a fixed
// order by a second kernel: deterministic, no float atomics; every version splits alike.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/conv_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// v2 (after conv_naive.h's v1): y = conv(x, w) + bias (bias may be null); launch status.
cudaError_t conv_v2_igemm_forward_f32(const kernels::ConvDesc& d, const float* x, const float* w,
                                      const float* bias, float* y);

// v2: dx = the gradient of sum(y * dy) with respect to x (overwritten); launch status.
cudaError_t conv_v2_igemm_backward_data_f32(const kernels::ConvDesc& d, const float* dy,
                                            const float* w, float* dx);

// How many blocks share the N*outvol reduction of backward-weights (1: no workspace needed).
int64_t conv_igemm_weights_splits(const kernels::ConvDesc& d);

// Device bytes the caller must pass as `workspace` to conv_v2_igemm_backward_weights_f32.
size_t conv_igemm_workspace_bytes(const kernels::ConvDesc& d);

// v2: dw (and dbias when not null) = the gradients of sum(y * dy) (overwritten); `workspace`
// holds conv_igemm_workspace_bytes(d) bytes (may be null when that is 0); launch status.
cudaError_t conv_v2_igemm_backward_weights_f32(const kernels::ConvDesc& d, const float* x,
                                               const float* dy, float* dw, float* dbias,
                                               float* workspace);

// v3: as v2's forward on tf32 tensor cores (x and w rounded with cvt.rna); launch status.
cudaError_t conv_v3_igemm_tf32_forward_f32(const kernels::ConvDesc& d, const float* x,
                                           const float* w, const float* bias, float* y);

// v3: as v2's backward-data on tf32 tensor cores (dy and w rounded); launch status.
cudaError_t conv_v3_igemm_tf32_backward_data_f32(const kernels::ConvDesc& d, const float* dy,
                                                 const float* w, float* dx);

// v3: as v2's backward-weights on tf32 tensor cores (x and dy rounded; dbias in fp32, as v2's).
cudaError_t conv_v3_igemm_tf32_backward_weights_f32(const kernels::ConvDesc& d, const float* x,
                                                    const float* dy, float* dw, float* dbias,
                                                    float* workspace);

// v4: as v3's forward on bf16 tensor cores (inputs rounded to nearest even); launch status.
cudaError_t conv_v4_igemm_bf16_forward_f32(const kernels::ConvDesc& d, const float* x,
                                           const float* w, const float* bias, float* y);

// v4: as v3's backward-data on bf16 tensor cores; launch status.
cudaError_t conv_v4_igemm_bf16_backward_data_f32(const kernels::ConvDesc& d, const float* dy,
                                                 const float* w, float* dx);

// v4: as v3's backward-weights on bf16 tensor cores; launch status.
cudaError_t conv_v4_igemm_bf16_backward_weights_f32(const kernels::ConvDesc& d, const float* x,
                                                    const float* dy, float* dw, float* dbias,
                                                    float* workspace);

}  // namespace signet::cuda
