// Fast CPU layer norm (float) over the rows of (rows, cols), same contract and formulas as
// kernels/reference/layer_norm.h:
//   v2 rows  forward: rows split over OpenMP threads; per row (hot in L1/L2) the mean, then the
//            mean squared deviation from it, then y = (x - mean) rstd w + b, each a pass of
//            16-lane float loops (GCC/Clang vector types: AVX2 on the x86-64-v3 build); backward:
//            per row sum(g) and sum(g xhat) (g = dy w), then dx, rows over threads; dweight and
//            dbias in a second pass over column tiles (threads over tiles), each column summed over
//            the rows in a fixed order.
//   Sums: 16 float lanes within blocks of 2048 elements (at most 128 terms a lane: relative
//   error about 128 x 2^-24 = 8e-6 of the block's sum of |terms|), blocks added in double;
//   dweight and dbias add 64 rows in float, then in double.
// Every value is computed by one thread in a fixed order: results do not depend on the thread
// count. Kernels never allocate and never throw; arguments are checked by the caller.
#pragma once
#include "kernels/common/norm_desc.h"

namespace signet::cpu {

// y, and the row statistics mean[r] and rstd[r] = 1 / sqrt(var + eps); weight, bias may be null.
void layer_norm_forward_v2(const kernels::LayerNormDesc& d, const float* x, const float* weight,
                           const float* bias, float* y, float* mean, float* rstd, int threads);

// dx, dweight and dbias (each may be null) from x, dy and the forward's row statistics.
void layer_norm_backward_v2(const kernels::LayerNormDesc& d, const float* x, const float* dy,
                            const float* mean, const float* rstd, const float* weight, float* dx,
                            float* dweight, float* dbias, int threads);

}  // namespace signet::cpu
