// Global 2-norm gradient clipping on f32 without a host round trip, in two passes over a
// double partials buffer: pass 1 (clip_partial_sumsq_f32, once per gradient) writes each block's
// sum of squares into its own slot; pass 2 (clip_norm_scale) sums the slots in a fixed tree in one
// block and writes the norm and the scale min(1, max_norm / (norm + 1e-6)) (1 when the norm is
// not finite) to the device; clip_scale_f32 multiplies each gradient by that device scale.
// Deterministic: the slots and the tree depend only on the sizes. Launchers return the status.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// The number of partial slots pass 1 uses for a gradient of n elements.
int clip_partial_count(int64_t n);
// partials[b] = sum over block b's share of g[i]^2 (in double), b < clip_partial_count(n).
cudaError_t clip_partial_sumsq_f32(const float* g, int64_t n, double* partials);
// out[0] = sqrt(sum of partials[0..count)), out[1] = the scale for max_norm (file comment).
cudaError_t clip_norm_scale(const double* partials, int64_t count, double max_norm, double* out);
// g[i] *= float(scale[0]) for i < n.
cudaError_t clip_scale_f32(float* g, int64_t n, const double* scale);

}  // namespace signet::cuda
