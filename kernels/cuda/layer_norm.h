// Layer norm on the cuda device over the rows of (rows, cols) (kernels/common/norm_desc.h), same
// contract as kernels/reference/layer_norm.h:
//   v1 row-block  forward: one block per row (grid-stride over rows); the block sums the row in a
//                 fixed shared-memory tree for the mean, then sums (x - mean)^2 the same way for
//                 the variance (two passes, no cancellation), writes mean, rstd and y.
//                 backward: one block per row for dx (sums of g = dy w and g xhat in a fixed
//                 tree); dweight and dbias by column partials: block (column tile, row chunk)
//                 sums dy xhat and dy over its 64 rows in row order into the workspace,
//                 then one thread per column adds the chunks in chunk order.
// Deterministic (no atomics; fixed trees and orders): a run repeats bit for bit; it differs from
// the CPU in float rounding only. Bandwidth unmeasured (no GPU yet).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/norm_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Forward: y, and per row mean and rstd = 1 / sqrt(var + eps) (weight, bias may be null).
cudaError_t layer_norm_forward_f32(const kernels::LayerNormDesc& d, const float* x,
                                   const float* weight, const float* bias, float* y, float* mean,
                                   float* rstd);
// Backward: dx, dweight, dbias (each may be null), with layer_norm_workspace_bytes(d) bytes of
// device workspace (may be null when that is 0).
cudaError_t layer_norm_backward_f32(const kernels::LayerNormDesc& d, const float* x,
                                    const float* dy, const float* mean, const float* rstd,
                                    const float* weight, float* dx, float* dweight, float* dbias,
                                    float* workspace);
// The device workspace the backward needs for the column partials of dweight and dbias, in bytes.
size_t layer_norm_workspace_bytes(const kernels::LayerNormDesc& d);

}  // namespace signet::cuda
