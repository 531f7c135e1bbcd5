// Fast CPU batch norm (float), same contract as kernels/reference/batch_norm.h:
//   v2 channel-fused  OpenMP over channels (static schedule); per channel the statistics pass
//                     (shifted sums s = sum(x - k), ss = sum((x - k)^2), k = the
//                     channel's first element) is followed at once by the apply pass, so the
//                     re-read of the channel mostly hits L2; the backward likewise makes one
//                     pass over x and dy for sum(dy) and sum(dy (x - mean)), then one
//                     for dx = a dy + b x + c. Rows are vectorised on `path` (AVX-512, AVX2 or
//                     portable). The AVX-512 and AVX2 sums add in f32 within blocks of 2048
//                     floats of a row (32 or 16 lanes, at most 64 or 128 terms each: relative
//                     error about 128 x 2^-24 = 8e-6 of the block's sum of |terms| at worst)
//                     and across blocks and rows in double (widening every float to double
//                     made the reductions compute-bound); the portable sums widen every float
//                     to double. On AVX-512, tensors of 16 MiB or more get y and dx stored
//                     non-temporally (64-byte aligned rows).
// Each channel is reduced by one thread in a fixed order: results do not depend on the thread
// count. Kernels never allocate and never throw; arguments are checked by the caller.
#pragma once
#include "kernels/common/norm_desc.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// Training forward: y, and per channel mean, biased var and invstd of the batch.
void batch_norm_forward_train_v2(const kernels::BatchNormDesc& d, const float* x,
                                 const float* weight, const float* bias, float* y, float* mean,
                                 float* var, float* invstd, int threads, SimdPath path);

// Evaluation forward: y from the given statistics (running_mean, running_var).
void batch_norm_forward_eval_v2(const kernels::BatchNormDesc& d, const float* x, const float* mean,
                                const float* var, const float* weight, const float* bias, float* y,
                                int threads, SimdPath path);

// Backward: dx (may be null), dweight and dbias (each may be null).
void batch_norm_backward_v2(const kernels::BatchNormDesc& d, const float* x, const float* dy,
                            const float* mean, const float* invstd, const float* weight,
                            bool training, float* dx, float* dweight, float* dbias, int threads,
                            SimdPath path);

}  // namespace signet::cpu
