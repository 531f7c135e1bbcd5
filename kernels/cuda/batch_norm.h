// Batch norm on the cuda device over (n, c, inner) (kernels/common/norm_desc.h), same contract as
// kernels/reference/batch_norm.h:
//   v1 channel-block  one block per channel (grid-stride over channels): the training forward
//                     makes per-thread Welford statistics, merges them in a fixed shared-memory
//                     tree, then normalises the channel in a second pass; the fused backward
//                     makes one pass over x and dy for sum(dy) and sum(dy (x - mean)) (fixed tree)
//                     and one for dx. The evaluation forward is elementwise over all of x.
// Deterministic (no atomics). Parallelism is the channel count: several blocks per channel with
// a second reduction pass is the next version. Bandwidth unmeasured so far (no GPU yet); bench/
// bench_cuda_norm.cpp measures it beside cuDNN.
#pragma once
#include "kernels/common/norm_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Training forward: y, and per channel mean, biased var and invstd of the batch (weight, bias
// may be null); launch status.
cudaError_t batch_norm_forward_train_f32(const kernels::BatchNormDesc& d, const float* x,
                                         const float* weight, const float* bias, float* y,
                                         float* mean, float* var, float* invstd);
// Evaluation forward: y from the given statistics (running_mean, running_var).
cudaError_t batch_norm_forward_eval_f32(const kernels::BatchNormDesc& d, const float* x,
                                        const float* mean, const float* var, const float* weight,
                                        const float* bias, float* y);
// Backward: dx (training: through the batch statistics), dweight, dbias; each may be null.
cudaError_t batch_norm_backward_f32(const kernels::BatchNormDesc& d, const float* x,
                                    const float* dy, const float* mean, const float* invstd,
                                    const float* weight, bool training, float* dx, float* dweight,
                                    float* dbias);

}  // namespace signet::cuda
